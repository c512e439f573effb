"""Provider health: a circuit breaker per provider, and GuardedChatModel, which adds timeouts, retries and typed errors.

Every model the registry hands out is a GuardedChatModel around the provider's own chat model, so the agent meets
one failure vocabulary (errors.py) whatever runs underneath.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Generator, Iterator, Sequence
from typing import Any, Literal

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import LanguageModelInput
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGenerationChunk
from langchain_core.runnables import Runnable
from pydantic import ConfigDict, Field

from agents.providers.base import StreamingChatModel, ToolLike
from agents.providers.errors import CircuitOpen, ProviderError, ProviderTimeout

log = logging.getLogger(__name__)

State = Literal["closed", "open", "half_open"]


class CircuitBreaker:
    """Opens after ``failures`` failed calls in a row; after ``reset_after_s`` lets one probe call through."""

    def __init__(
        self, name: str, failures: int = 3, reset_after_s: float = 30.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.name = name
        self.failures = failures
        self.reset_after_s = reset_after_s
        self._clock = clock
        self._lock = threading.Lock()
        self._failed = 0
        self._opened_at: float | None = None
        self._probing = False
        self.last_error: str | None = None

    @property
    def state(self) -> State:
        with self._lock:
            return self._state()

    def _state(self) -> State:
        if self._opened_at is None:
            return "closed"
        return "half_open" if self._clock() - self._opened_at >= self.reset_after_s else "open"

    def retry_in(self) -> float:
        with self._lock:
            if self._opened_at is None:
                return 0.0
            return max(0.0, self.reset_after_s - (self._clock() - self._opened_at))

    def before_call(self) -> None:
        """Raise CircuitOpen unless a call may go through now (closed, or the one half-open probe)."""
        with self._lock:
            state = self._state()
            if state == "closed":
                return
            if state == "half_open" and not self._probing:
                self._probing = True
                return
            wait = max(0.0, self.reset_after_s - (self._clock() - (self._opened_at or 0.0)))
        raise CircuitOpen(
            f"{self.name} is paused after {self.failures} failures in a row (last: {self.last_error}); "
            f"next try in {wait:.0f} s",
            model=self.name,
            retry_in_s=wait,
        )

    def record_success(self) -> None:
        with self._lock:
            self._failed, self._opened_at, self._probing, self.last_error = 0, None, False, None

    def record_failure(self, error: str) -> None:
        with self._lock:
            self._failed += 1
            self.last_error = error
            if self._probing or self._failed >= self.failures:
                self._opened_at = self._clock()  # a failed probe re-opens for a full period
            self._probing = False


def _has_output(chunk: ChatGenerationChunk) -> bool:
    message = chunk.message
    return bool(message.content) or bool(getattr(message, "tool_call_chunks", None))


class GuardedChatModel(StreamingChatModel):
    """Wraps a provider's chat model with deadlines, retries before the first token, a breaker and typed errors."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    model_name: str
    inner: BaseChatModel
    breaker: CircuitBreaker = Field(exclude=True)
    translate: Callable[[Exception], ProviderError] = Field(exclude=True)
    first_token_timeout_s: float = Field(60.0, gt=0)
    total_timeout_s: float = Field(300.0, gt=0)
    retries: int = Field(2, ge=0)
    backoff_s: float = Field(0.5, ge=0)
    cooperative: bool = Field(False, description="The inner model takes a should_stop callback (local models).")

    @property
    def _llm_type(self) -> str:
        return f"guarded-{self.inner._llm_type}"

    def get_num_tokens(self, text: str) -> int:
        # Only Deskmate's own models are asked: LangChain's OpenAI model would fetch a tokenizer from the network.
        if isinstance(self.inner, StreamingChatModel):
            return int(self.inner.get_num_tokens(text))
        return len(text) // 4 + 1

    def bind_tools(
        self,
        tools: Sequence[ToolLike],
        *,
        tool_choice: str | dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        # The inner model knows its own tool format; keep its bound arguments, but run them through this guard.
        bound = self.inner.bind_tools(tools, tool_choice=tool_choice, **kwargs)  # type: ignore[arg-type]
        return self.bind(**getattr(bound, "kwargs", {}))

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        cancel: threading.Event | None = kwargs.pop("cancel", None)
        attempt = 0
        started = time.monotonic()
        while True:
            self.breaker.before_call()
            got_output = False
            try:
                for chunk in self._attempt(messages, stop, kwargs, cancel):
                    got_output = got_output or _has_output(chunk)
                    if run_manager and chunk.message.content:
                        run_manager.on_llm_new_token(str(chunk.message.content), chunk=chunk)
                    yield chunk
            except ProviderError as error:
                self.breaker.record_failure(f"{error.kind}: {error}")
                if got_output or not error.retryable or attempt >= self.retries or self._cancelled(cancel):
                    raise
                attempt += 1
                pause = self.backoff_s * (2 ** (attempt - 1)) * (1 + random.random() / 2)
                log.info("%s failed (%s); retry %d in %.2f s", self.model_name, error.kind, attempt, pause)
                if cancel is not None and cancel.wait(pause):
                    return
                if cancel is None:
                    time.sleep(pause)
                continue
            except GeneratorExit:
                raise  # the caller stopped reading: not a failure of the provider
            self.breaker.record_success()
            metadata = {
                "deskmate": {
                    "model": self.model_name,
                    "attempts": attempt + 1,
                    "latency_ms": round((time.monotonic() - started) * 1000, 1),
                }
            }
            yield ChatGenerationChunk(message=AIMessageChunk(content="", response_metadata=metadata))
            return

    @staticmethod
    def _cancelled(cancel: threading.Event | None) -> bool:
        return cancel is not None and cancel.is_set()

    def _attempt(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None,
        kwargs: dict[str, Any],
        cancel: threading.Event | None,
    ) -> Iterator[ChatGenerationChunk]:
        began = time.monotonic()
        first_deadline, total_deadline = began + self.first_token_timeout_s, began + self.total_timeout_s
        seen_output = False

        def deadline() -> float:
            return min(total_deadline, first_deadline) if not seen_output else total_deadline

        def should_stop() -> bool:
            return self._cancelled(cancel) or time.monotonic() > deadline()

        inner_kwargs = dict(kwargs)
        if self.cooperative:
            inner_kwargs["should_stop"] = should_stop
        stream: Generator[ChatGenerationChunk, None, None] = self.inner._stream(  # type: ignore[assignment]
            messages, stop, None, **inner_kwargs
        )
        try:
            while True:
                try:
                    chunk = next(stream)
                except StopIteration:
                    chunk = None
                except ProviderError:
                    raise
                except Exception as exc:  # noqa: BLE001 - third-party errors become typed ones here
                    raise self.translate(exc) from exc
                if self._cancelled(cancel):
                    return
                # Checked after the stream ends too: a cooperative model stops quietly when should_stop says so.
                if time.monotonic() > deadline():
                    raise self._timeout("first_token" if not seen_output else "total")
                if chunk is None:
                    return
                seen_output = True  # any chunk means the model is answering; retries still need real output
                yield chunk
        finally:
            stream.close()

    def _timeout(self, phase: str) -> ProviderTimeout:
        limit = self.first_token_timeout_s if phase == "first_token" else self.total_timeout_s
        what = "first token" if phase == "first_token" else "complete answer"
        return ProviderTimeout(f"{self.model_name}: no {what} within {limit:g} s", model=self.model_name, phase=phase)

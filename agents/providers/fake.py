"""FakeChatModel: a scripted chat model for tests and demos, registered through the real registry as kind "fake".

fake = FakeChatModel()
fake.enqueue("Paris is the capital.")                        # streamed word by word
fake.enqueue_tool_call("search", {"query": "capital"})      # a native tool call
fake.enqueue_error(ProviderUnreachable("down"))             # raised before the first chunk
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.messages import AIMessageChunk, BaseMessage
from langchain_core.messages.tool import tool_call_chunk
from langchain_core.outputs import ChatGenerationChunk
from pydantic import ConfigDict, PrivateAttr

from agents.providers.base import StreamingChatModel
from agents.providers.errors import ProviderError


@dataclass(slots=True)
class Scripted:
    text: str = ""
    tool_calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    error: ProviderError | None = None
    error_after_chunks: int = 0  # raise ``error`` after this many chunks (0: before any output)
    delay_s: float = 0.0  # pause before each chunk


class FakeChatModel(StreamingChatModel):
    """Replies from a queue (then ``default``); records every call's messages and keyword arguments."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    default: str = "ok"
    _queue: deque[Scripted] = PrivateAttr(default_factory=deque)
    _calls: list[tuple[list[BaseMessage], dict[str, Any]]] = PrivateAttr(default_factory=list)
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    @property
    def _llm_type(self) -> str:
        return "deskmate-fake"

    @property
    def calls(self) -> list[tuple[list[BaseMessage], dict[str, Any]]]:
        with self._lock:
            return list(self._calls)

    def enqueue(self, text: str, *, delay_s: float = 0.0) -> FakeChatModel:
        return self._push(Scripted(text=text, delay_s=delay_s))

    def enqueue_tool_call(self, name: str, arguments: dict[str, Any], text: str = "") -> FakeChatModel:
        return self._push(Scripted(text=text, tool_calls=[(name, arguments)]))

    def enqueue_tool_calls(self, calls: list[tuple[str, dict[str, Any]]], text: str = "") -> FakeChatModel:
        """One reply holding several tool calls (a model step that asks for more than one tool at once)."""
        return self._push(Scripted(text=text, tool_calls=list(calls)))

    def enqueue_error(self, error: ProviderError, *, after_text: str = "", after_chunks: int = 0) -> FakeChatModel:
        return self._push(Scripted(text=after_text, error=error, error_after_chunks=after_chunks))

    def _push(self, item: Scripted) -> FakeChatModel:
        with self._lock:
            self._queue.append(item)
        return self

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        should_stop: Callable[[], bool] = kwargs.pop("should_stop", None) or (lambda: False)
        with self._lock:
            self._calls.append((list(messages), dict(kwargs)))
            item = self._queue.popleft() if self._queue else Scripted(text=self.default)
        words = item.text.split(" ") if item.text else []
        pieces = [w if i == 0 else " " + w for i, w in enumerate(words)]
        for number, piece in enumerate(pieces):
            if item.error is not None and number == item.error_after_chunks:
                raise item.error
            if item.delay_s:
                time.sleep(item.delay_s)
            if should_stop():
                return
            yield ChatGenerationChunk(message=AIMessageChunk(content=piece))
        if item.error is not None:
            raise item.error
        chunks = [
            tool_call_chunk(name=name, args=json.dumps(args), id=f"call_{uuid.uuid4().hex[:8]}", index=i)
            for i, (name, args) in enumerate(item.tool_calls)
        ]
        usage = {"input_tokens": sum(len(str(m.content).split()) for m in messages), "output_tokens": len(pieces)}
        usage["total_tokens"] = usage["input_tokens"] + usage["output_tokens"]
        yield ChatGenerationChunk(
            message=AIMessageChunk(
                content="",
                tool_call_chunks=chunks,
                usage_metadata=usage,
                response_metadata={"finish_reason": "tool_calls" if chunks else "stop", "execution_provider": "fake"},
            )
        )

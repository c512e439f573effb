"""Remote models over the OpenAI chat-completions protocol (Ollama, LM Studio, llama.cpp server, vLLM, cloud APIs).

langchain-openai's ChatOpenAI speaks the protocol (streaming, native tool calls); this module configures it for
Deskmate's deadlines, translates the openai client's exceptions into Deskmate's typed provider errors, and is the
boundary where text leaves the machine: every message is redacted (secrets always, PII when asked) before it is
sent, and what was sent is logged for the turn's trace (outbound.py).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from typing import Any

import openai
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, convert_to_openai_messages
from langchain_core.outputs import ChatGenerationChunk, ChatResult
from langchain_openai import ChatOpenAI
from pydantic import PrivateAttr, SecretStr

from agents.providers.errors import BadResponse, ProviderError, ProviderTimeout, ProviderUnreachable
from agents.providers.outbound import Outbound
from agents.providers.spec import ModelSpec

CONNECT_TIMEOUT_S = 5.0
# Local servers ignore the key, but the client refuses to start without one.
NO_KEY = "no-key"


class RedactingChatOpenAI(ChatOpenAI):
    """ChatOpenAI that redacts every message before it is sent and records the payload it sent."""

    _outbound: Outbound = PrivateAttr(default_factory=Outbound)
    _label: str = PrivateAttr(default="")  # Deskmate's "provider/model" name, for the log of what was sent

    # Every way a request can leave goes through _outgoing: streaming and not, sync and async.
    def _stream(self, messages: list[BaseMessage], *args: Any, **kwargs: Any) -> Iterator[ChatGenerationChunk]:
        return super()._stream(self._outgoing(messages), *args, **kwargs)

    def _astream(self, messages: list[BaseMessage], *args: Any, **kwargs: Any) -> AsyncIterator[ChatGenerationChunk]:
        return super()._astream(self._outgoing(messages), *args, **kwargs)

    def _generate(self, messages: list[BaseMessage], *args: Any, **kwargs: Any) -> ChatResult:
        return super()._generate(self._outgoing(messages), *args, **kwargs)

    async def _agenerate(self, messages: list[BaseMessage], *args: Any, **kwargs: Any) -> ChatResult:
        return await super()._agenerate(self._outgoing(messages), *args, **kwargs)

    def _outgoing(self, messages: list[BaseMessage]) -> list[BaseMessage]:
        redacted, counts = redact_messages(messages, self._outbound)
        self._outbound.record(self._label or self.model_name, convert_to_openai_messages(redacted), dict(counts))
        return redacted


def redact_messages(messages: list[BaseMessage], outbound: Outbound) -> tuple[list[BaseMessage], Counter[str]]:
    """The messages with every text in them (content, content parts, tool-call arguments) redacted."""
    counts: Counter[str] = Counter()

    def clean(value: Any) -> Any:
        if isinstance(value, str):
            result = outbound.redact(value)
            counts.update(f.kind for f in result.findings)
            return result.text
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items()}
        if isinstance(value, list):
            return [clean(v) for v in value]
        return value

    out: list[BaseMessage] = []
    for message in messages:
        update: dict[str, Any] = {"content": clean(message.content)}
        if isinstance(message, AIMessage) and message.tool_calls:
            update["tool_calls"] = [{**call, "args": clean(call["args"])} for call in message.tool_calls]
            update["additional_kwargs"] = {k: v for k, v in message.additional_kwargs.items() if k != "tool_calls"}
        out.append(message.model_copy(update=update))
    return out, counts


def make_chat_model(spec: ModelSpec, api_key: SecretStr | None, first_token_timeout_s: float,
                    outbound: Outbound | None = None) -> BaseChatModel:
    """A ChatOpenAI for ``spec``; the read timeout bounds the wait for the first (and each later) chunk."""
    timeout = openai.Timeout(first_token_timeout_s, connect=min(CONNECT_TIMEOUT_S, first_token_timeout_s))
    model = RedactingChatOpenAI(
        model=spec.model or spec.name.split("/", 1)[-1],
        base_url=spec.base_url,
        api_key=api_key or SecretStr(NO_KEY),
        timeout=timeout,
        max_retries=0,  # GuardedChatModel retries, so the breaker sees every outcome
        stream_usage=True,
        temperature=0.0,
    )
    model._outbound = outbound or Outbound()
    model._label = spec.name
    return model


def translate(exc: Exception, model: str | None = None, where: str | None = None) -> ProviderError:
    """The typed error for what the openai client raised (a body that is not JSON arrives as a bare ValueError)."""
    if isinstance(exc, ProviderError):
        return exc
    if isinstance(exc, openai.APITimeoutError):
        return ProviderTimeout(f"{model}: the server did not answer in time", model=model, phase="first_token")
    if isinstance(exc, openai.APIStatusError):
        detail = _detail(exc)
        hint = " (check the key with `deskmate keys set`)" if exc.status_code in (401, 403) else ""
        return BadResponse(
            f"{model}: the server answered {exc.status_code}: {detail}{hint}", model=model, status=exc.status_code
        )
    if isinstance(exc, openai.APIConnectionError):
        cause = exc.__cause__ or exc
        at = f" at {where}" if where else ""
        return ProviderUnreachable(f"{model}: cannot reach the server{at} or it dropped the connection ({cause})",
                                   model=model)
    if isinstance(exc, openai.APIResponseValidationError | json.JSONDecodeError | ValueError | KeyError | TypeError):
        return BadResponse(f"{model}: the server's answer is not a valid chat completion ({exc})", model=model)
    return BadResponse(f"{model}: unexpected failure talking to the server: {type(exc).__name__}: {exc}", model=model)


def _detail(exc: openai.APIStatusError) -> str:
    body = exc.body
    if isinstance(body, dict):
        error = body.get("error", body)
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"])[:300]
    return str(exc.message)[:300]


def probe(spec: ModelSpec, api_key: SecretStr | None, timeout_s: float = 3.0) -> tuple[bool, str]:
    """Whether the server answers its model list, and what it said (for `deskmate models list`)."""
    client = openai.OpenAI(
        base_url=spec.base_url,
        api_key=(api_key.get_secret_value() if api_key else NO_KEY),
        timeout=timeout_s,
        max_retries=0,
    )
    try:
        models = [m.id for m in client.models.list()]
    except Exception as exc:  # noqa: BLE001 - reported, not raised: listing must show every model's state
        return False, str(translate(exc, spec.name, spec.base_url))
    finally:
        client.close()
    if spec.model and models and spec.model not in models:
        return False, f"the server does not list {spec.model!r} (it has: {', '.join(models[:8])})"
    return True, "reachable"

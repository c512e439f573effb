"""One plain completion (no tools, no retrieval) with its figures: what `deskmate generate` runs."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from langchain_core.messages import AIMessageChunk, HumanMessage

from agents.providers.health import GuardedChatModel


@dataclass(frozen=True, slots=True)
class Completion:
    model: str
    text: str
    prompt_tokens: int
    completion_tokens: int
    time_to_first_token_ms: float | None
    tokens_per_s: float
    total_ms: float
    execution_provider: str | None
    finish_reason: str | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def complete(
    model: GuardedChatModel,
    prompt: str,
    *,
    max_tokens: int | None = None,
    on_text: Callable[[str], None] | None = None,
    cancel: threading.Event | None = None,
) -> Completion:
    """Stream one answer to ``prompt``, calling ``on_text`` per piece; figures are measured the same for every kind."""
    kwargs: dict[str, Any] = {"max_tokens": max_tokens} if max_tokens else {}
    if cancel is not None:
        kwargs["cancel"] = cancel
    started = time.perf_counter()
    first: float | None = None
    last = started
    merged: AIMessageChunk | None = None
    for chunk in model.stream([HumanMessage(prompt)], **kwargs):
        if not isinstance(chunk, AIMessageChunk):
            continue
        if chunk.content:
            now = time.perf_counter()
            first = first if first is not None else now
            last = now
            if on_text:
                on_text(chunk.text)
        merged = chunk if merged is None else merged + chunk
    total = time.perf_counter() - started
    metadata = merged.response_metadata if merged else {}
    usage: dict[str, Any] = dict((merged.usage_metadata if merged else None) or {})
    completion_tokens = int(usage.get("output_tokens", 0))
    ttft = metadata.get("time_to_first_token_ms")  # the local runtime measures this itself, without stream overhead
    if ttft is None and first is not None:
        ttft = round((first - started) * 1000, 1)
    rate = metadata.get("tokens_per_s")
    if not rate:
        decoding = first is not None and last > first and completion_tokens > 1
        rate = round((completion_tokens - 1) / (last - (first or last)), 2) if decoding else 0.0
    provider = metadata.get("execution_provider") or ("remote" if merged is not None else None)
    return Completion(
        model=model.model_name,
        text=merged.text if merged else "",
        prompt_tokens=int(usage.get("input_tokens", 0)),
        completion_tokens=completion_tokens,
        time_to_first_token_ms=ttft,
        tokens_per_s=float(rate),
        total_ms=round(total * 1000, 1),
        execution_provider=provider,
        finish_reason=metadata.get("finish_reason"),
    )

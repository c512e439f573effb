"""Trace events: one structured record per graph node (timing, model, tokens, retrieval scores, fallback reason).

Nodes are wrapped by ``traced``, which emits each record on the graph's custom stream; the runner turns them into
``Trace`` events, so the command line, the desktop app and a future trace store read them through one interface.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, TypeVar

from langgraph.config import get_stream_writer

S = TypeVar("S")


@dataclass(frozen=True, slots=True)
class TraceEvent:
    node: str
    started: float  # epoch seconds
    duration_ms: float
    details: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _details(node: str, update: dict[str, Any]) -> dict[str, Any]:
    """What is worth keeping from a node's state update (never document text or answers in full)."""
    details: dict[str, Any] = {}
    for key in ("intent", "mode", "fallback_reason", "model", "prompt", "usage", "retrieval_error", "cache_hit"):
        if key in update and update[key] not in (None, "", {}):
            details[key] = update[key]
    if "hits" in update:
        details["retrieval"] = [{"path": h["path"], "score": round(float(h["score"]), 4)} for h in update["hits"]]
    if "citations" in update:
        details["citations"] = len(update["citations"])
    return details


def traced(node: str, fn: Callable[[S], S]) -> Callable[[S], S]:
    """``fn`` as a graph node that also emits a TraceEvent for each run."""

    def run(state: S) -> S:
        started, clock = time.time(), time.perf_counter()
        update = fn(state)
        details = _details(node, dict(update) if isinstance(update, dict) else {})
        event = TraceEvent(node, started, round((time.perf_counter() - clock) * 1000, 2), details)
        get_stream_writer()({"trace": event.as_dict()})
        return update

    return run

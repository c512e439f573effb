"""Trace events: one structured record per graph node (timing, model, tokens, retrieval scores, fallback reason).

Nodes are wrapped by ``traced``, which emits each record (a TraceEvent object) on the graph's custom stream; the
runner turns them into ``Trace`` events, so the command line, the desktop app and the trace store (traces.py) read
them through one interface.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from typing import Any, TypeVar

from langgraph.config import get_stream_writer

from agents.guard.audit import Decision

S = TypeVar("S")
# A call the approval gate stopped comes back with its Decision as the ToolMessage's artifact (agents/toolset.py).
DENIALS: frozenset[Decision] = frozenset({"denied", "refused"})


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
    for key in ("intent", "mode", "fallback_reason", "model", "prompt", "usage", "retrieval_error", "cache_hit",
                "route", "route_reason", "relevance", "related", "action", "system_ref"):
        if key in update and update[key] not in (None, "", {}):
            details[key] = update[key]
    if update.get("query_reason"):  # the follow-up made standalone: why (the query itself is on the turn's root)
        details["query_changed"] = True
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
        get_stream_writer()(event)
        return update

    return run


def with_first_token(event: TraceEvent, at: float) -> TraceEvent:
    """A model step's record with its time to first token (``at``: when the runner saw the first token, epoch s)."""
    return replace(event, details={**event.details, "ttft_ms": round(max(0.0, at - event.started) * 1000, 1)})


def tool_traces(work: list[Any], traces: list[TraceEvent], approvals: list[tuple[str, bool]]) -> list[TraceEvent]:
    """One "tools" record per round of tool calls in a turn's exchange (the tool node itself emits none).

    Each call carries its name, arguments, result size, status and, when the user was asked, the answer; a round's
    time is the gap between the model step that asked for it and the next one.
    """
    results = {m.tool_call_id: m for m in work if getattr(m, "type", "") == "tool"}
    steps = [t for t in traces if t.node == "agent"]
    asked = list(approvals)
    rounds: list[TraceEvent] = []
    for message in (m for m in work if getattr(m, "tool_calls", None)):
        calls = []
        for call in message.tool_calls:
            result = results.get(call.get("id"))
            content = str(result.content) if result is not None else ""
            entry: dict[str, Any] = {"name": call["name"], "args": call["args"], "result_chars": len(content),
                                     "status": getattr(result, "status", None) if result is not None else "not run"}
            match = next((a for a in asked if a[0] == call["name"]), None)
            if match is not None:
                asked.remove(match)
                entry["approval"] = "approved" if match[1] else "declined"
            elif getattr(result, "artifact", None) in DENIALS:
                entry["approval"] = "declined by policy"
            calls.append(entry)
        n = len(rounds)
        start = steps[n].started + steps[n].duration_ms / 1000 if n < len(steps) else time.time()
        end = steps[n + 1].started if n + 1 < len(steps) else start
        rounds.append(TraceEvent("tools", start, round(max(0.0, end - start) * 1000, 2), {"calls": calls}))
    return rounds

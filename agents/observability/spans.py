"""Spans: one finished turn as a tree (a root "turn", a child per graph node), with its text redacted or withheld.

What the trace store keeps is built here: secrets (and known key values, and PII when asked) are always masked;
with ``documents=False`` document text (questions, answers, retrieved snippets, quotes, what a remote model was sent)
is withheld, leaving paths, scores, sizes, timings and models.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from agents.guard.redaction import scrub

if TYPE_CHECKING:
    from agents.observability.telemetry import TraceEvent
    from agents.providers.outbound import SentPayload
    from agents.runner import TurnDone

WITHHELD = "(withheld)"
TEXT_CHARS = 2000  # per stored text: a trace shows what happened, it is not an archive of documents
_QUOTED_TAIL = re.compile(r": (['\"]).*\1$", re.DOTALL)  # a fallback reason that quotes the model's answer


@dataclass(slots=True)
class Span:
    span_id: int
    parent_id: int | None
    name: str
    started: float  # epoch seconds
    duration_ms: float
    attributes: dict[str, Any] = field(default_factory=dict)
    children: list[Span] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"span_id": self.span_id, "parent_id": self.parent_id, "name": self.name, "started": self.started,
                "duration_ms": self.duration_ms, "attributes": self.attributes,
                "children": [c.as_dict() for c in self.children]}


class Scrubber:
    """Masks secrets (and PII with ``pii``) in every string; withholds document text unless ``documents``."""

    def __init__(self, *, documents: bool = True, pii: bool = False, known: Iterable[str] = ()) -> None:
        self.documents = documents
        self.pii = pii
        self.known = tuple(known)

    def text(self, value: str | None, *, document: bool = False) -> str | None:
        if value is None:
            return None
        if document and not self.documents:
            return WITHHELD
        clean = scrub(value, pii=self.pii, known=self.known)
        return clean if len(clean) <= TEXT_CHARS else clean[:TEXT_CHARS] + " ..."

    def value(self, value: Any, *, document: bool = False) -> Any:
        """Strings anywhere inside ``value`` (dicts, lists) scrubbed; numbers and the rest as they are."""
        if isinstance(value, str):
            return self.text(value, document=document)
        if isinstance(value, dict):
            return {str(k): self.value(v, document=document) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.value(v, document=document) for v in value]
        return value

    def reason(self, reason: str | None) -> str | None:
        """A fallback reason: kept, but a quote of the model's answer in it is document text."""
        if reason is None:
            return None
        if not self.documents:
            reason = _QUOTED_TAIL.sub(": " + WITHHELD, reason)
        return self.text(reason)


def _tokens(usage: dict[str, Any]) -> tuple[int, int]:
    return int(usage.get("input_tokens", 0) or 0), int(usage.get("output_tokens", 0) or 0)


def _node_attributes(event: TraceEvent, question: str, clean: Scrubber) -> dict[str, Any]:
    details = dict(event.details)
    attributes: dict[str, Any] = {}
    if event.node == "retrieve":
        candidates = details.pop("retrieval", [])
        attributes["query"] = clean.text(question, document=True)
        attributes["candidates"] = clean.value(candidates)
        attributes["top_score"] = max((c["score"] for c in candidates), default=None)
    elif event.node == "agent" and details.get("usage"):
        attributes["tokens_in"], attributes["tokens_out"] = _tokens(details["usage"])
    elif event.node == "tools":
        calls = details.pop("calls", [])
        attributes["calls"] = [{**clean.value({k: v for k, v in c.items() if k != "args"}),
                                "args": clean.value(c.get("args", {}), document=True)} for c in calls]
    if "fallback_reason" in details:
        attributes["fallback_reason"] = clean.reason(details.pop("fallback_reason"))
    attributes.update(clean.value(details))
    return attributes


def _sent(payload: SentPayload, clean: Scrubber) -> dict[str, Any]:
    # Already redacted at the boundary (openai_compat.py); scrubbed again here only for known keys and PII policy.
    messages = [{**{k: v for k, v in m.items() if k != "content"},
                 "content": clean.value(m.get("content"), document=True)} for m in payload.messages]
    return {"model": payload.model, "at": payload.at, "redactions": payload.redactions, "messages": messages}


def build(question: str, done: TurnDone, traces: list[TraceEvent], sent: Iterable[SentPayload],
          clean: Scrubber) -> Span:
    """The span tree of one turn: the root "turn" and one child per node record, in the order they started."""
    ordered = sorted(traces, key=lambda t: t.started)
    started = ordered[0].started if ordered else time.time() - done.latency_ms / 1000
    root = Span(0, None, "turn", started, done.latency_ms, {
        "thread_id": done.thread_id, "intent": done.intent, "mode": done.mode, "model": done.model,
        "prompt": done.prompt, "grounded": done.grounded, "fallback_reason": clean.reason(done.fallback_reason),
        "draft_ms": done.draft_ms, "usage": dict(done.usage),
        "question": clean.text(question, document=True), "answer": clean.text(done.answer, document=True),
        "route": done.route, "route_reason": clean.reason(done.route_reason), "action": done.action,
        "query": clean.text(done.query, document=True) if done.query else None,
        "scope": clean.value(done.scope, document=True) if done.scope else None,
        "citations": [{"path": c.path, "page": c.page, "line_start": c.line_start, "line_end": c.line_end,
                       "quote": clean.text(c.quote, document=True)} for c in done.citations],
    })
    for n, event in enumerate(ordered, 1):
        root.children.append(Span(n, 0, event.node, event.started, event.duration_ms,
                                  _node_attributes(event, question, clean)))
    steps = [s for s in root.children if s.name == "agent"]
    for payload in sent:
        # A payload belongs to the model step running when it was sent; the root keeps any left over.
        owner = next((s for s in steps if s.started <= payload.at <= s.started + s.duration_ms / 1000 + 0.05), root)
        owner.attributes.setdefault("sent", []).append(_sent(payload, clean))
    return root


def summary(root: Span, done: TurnDone) -> dict[str, Any]:
    """The turn's row: tokens over every model step, time to first token from the turn's start, top score."""
    steps = [s for s in root.children if s.name == "agent"]
    tokens_in = sum(s.attributes.get("tokens_in", 0) for s in steps)
    tokens_out = sum(s.attributes.get("tokens_out", 0) for s in steps)
    if not steps:
        tokens_in, tokens_out = _tokens(done.usage)
    first = next((s for s in steps if s.attributes.get("ttft_ms") is not None), None)
    ttft = None if first is None else round((first.started - root.started) * 1000 + first.attributes["ttft_ms"], 1)
    scores = [s.attributes["top_score"] for s in root.children
              if s.name == "retrieve" and s.attributes.get("top_score") is not None]
    return {"tokens_in": tokens_in, "tokens_out": tokens_out, "ttft_ms": ttft,
            "top_score": scores[0] if scores else None, "cache_hit": done.mode == "cache"}

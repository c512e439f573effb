"""The events of one turn: what the graph's nodes emit on its stream and the runner yields to the CLI and the app.

Nodes write these objects through LangGraph's stream writer (they are never checkpointed, so any type will do);
the runner adds the ones only it can know (tool rounds, approvals, the turn's end).
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from agents.citations import Citation
from agents.observability.telemetry import TraceEvent

# The model's answer from the files, a deterministic extract, a cached model answer, the model alone (not from the
# user's files), or a computed answer (arithmetic, units, dates, memory, counts over the index).
Mode = Literal["llm", "fallback", "cache", "general", "exact"]
# Which way the turn went: the user's files, the model alone, a computation, the memory, the index's own catalogue,
# a whole document, or an action on selected text.
Route = Literal["files", "general", "exact", "memory", "inventory", "document", "action"]


@dataclass(frozen=True, slots=True)
class DraftAnswer:
    """The deterministic, cited answer: shown at once, then refined or replaced by the model's."""

    text: str
    citations: list[Citation]
    workflow: str


@dataclass(frozen=True, slots=True)
class Progress:
    """Slow work under way (a whole document read part by part): ``done`` of ``total`` steps."""

    done: int
    total: int
    what: str


@dataclass(frozen=True, slots=True)
class TokenDelta:
    text: str


@dataclass(frozen=True, slots=True)
class ToolStarted:
    tool: str
    args: dict[str, Any]


@dataclass(frozen=True, slots=True)
class ToolFinished:
    tool: str
    result: str  # what the model was told (the first 500 characters)


@dataclass(frozen=True, slots=True)
class CitationEvent:
    """One source of the final answer (sent before TurnDone, which carries them all too)."""

    citation: Citation


@dataclass(frozen=True, slots=True)
class ApprovalNeeded:
    """A tool with side effects wants to run; the ``approve`` callback of ``Runner.ask`` decides."""

    tool: str
    args: dict[str, Any]
    id: str = ""  # the graph's interrupt id, so each request gets its own answer
    reason: str = ""  # why it asks even if its policy is "always": the turn read text that addresses the model

    def details(self) -> list[tuple[str, str]]:
        """Each argument as (name, its whole value) to show as plain text: nothing cut, nothing able to act.

        Control and format characters (an escape sequence, a right-to-left override, a zero-width space) are written
        as escapes (see ``visible``), so a value cannot redraw the terminal or hide part of itself.
        """
        return [(str(name), visible(value)) for name, value in self.args.items()]


def visible(value: Any) -> str:
    """``value`` as text with every control or format character except newline and tab written as an escape."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    if text.isprintable():
        return text
    return "".join(ch if ch in "\n\t" or unicodedata.category(ch) not in ("Cc", "Cf") else
                   ascii(ch)[1:-1] for ch in text)


@dataclass(frozen=True, slots=True)
class Warning:  # noqa: A001 - the event's name in the runner's vocabulary; the builtin is not used here
    """A retrieved chunk or a tool result looks like instructions to the model (agents/guard/guards.py): fenced.

    The one warning type: the graph's checkpointed state keeps each as its row ``{"source", "reasons"}`` (the form
    agents/guard/screening.py builds), read back with ``of``.
    """

    source: str  # the file's path, or "target (tool)" for a tool's result
    reasons: list[str]

    @classmethod
    def of(cls, row: Mapping[str, Any]) -> Warning:
        return cls(str(row["source"]), list(row["reasons"]))

    def as_dict(self) -> dict[str, Any]:
        return {"source": self.source, "reasons": list(self.reasons)}


@dataclass(frozen=True, slots=True)
class Degraded:
    """The model could not answer; the deterministic answer stands."""

    reason: str


@dataclass(frozen=True, slots=True)
class TurnDone:
    thread_id: str
    answer: str
    mode: Mode
    fallback_reason: str | None
    citations: list[Citation]
    model: str | None
    prompt: str | None
    grounded: bool
    intent: str | None
    latency_ms: float
    draft_ms: float | None
    usage: dict[str, int] = field(default_factory=dict)
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    trace_id: str | None = None  # the stored trace of this turn (`deskmate traces show ID`), when traces are kept
    warnings: list[Warning] = field(default_factory=list)
    route: str = "files"
    route_reason: str = ""  # one sentence: why the turn went this way
    query: str | None = None  # the standalone search query, when it differs from the question
    scope: dict[str, Any] | None = None  # the thread's scope (tools/index/scope.py), when it has one
    action: str | None = None  # the preset's id for an action on selected text (its version is in ``prompt``)

    def as_dict(self) -> dict[str, Any]:
        return {
            "thread_id": self.thread_id, "answer": self.answer, "mode": self.mode,
            "fallback_reason": self.fallback_reason, "model": self.model, "prompt": self.prompt,
            "grounded": self.grounded, "intent": self.intent, "latency_ms": self.latency_ms,
            "draft_ms": self.draft_ms, "usage": self.usage, "tool_calls": self.tool_calls,
            "citations": [c.as_dict() for c in self.citations], "trace_id": self.trace_id,
            "warnings": [w.as_dict() for w in self.warnings], "route": self.route,
            "route_reason": self.route_reason, "query": self.query, "scope": self.scope, "action": self.action,
        }


@dataclass(frozen=True, slots=True)
class TurnFailed:
    error: str


@dataclass(frozen=True, slots=True)
class Trace:
    """One node's trace record (see agents/observability/telemetry.py)."""

    event: TraceEvent


Event = (DraftAnswer | Progress | TokenDelta | ToolStarted | ToolFinished | ApprovalNeeded | Degraded | CitationEvent
         | TurnDone | TurnFailed | Trace | Warning)

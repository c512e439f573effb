"""The runner: one turn of the ask graph as a stream of plain events, for the command line and the desktop app."""

from __future__ import annotations

import json
import logging
import threading
import time
import unicodedata
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from langgraph.types import Command

from agents.citations import Citation
from agents.observability.telemetry import TraceEvent, tool_traces, with_first_token
from tools.errors import DeskmateError

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class DraftAnswer:
    """The deterministic, cited answer: shown at once, then refined or replaced by the model's."""

    text: str
    citations: list[Citation]
    workflow: str


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
    """A retrieved chunk or a tool result looks like instructions to the model (agents/guard/guards.py): fenced."""

    source: str  # the file's path, or "target (tool)" for a tool's result
    reasons: list[str]


@dataclass(frozen=True, slots=True)
class Degraded:
    """The model could not answer; the deterministic answer stands."""

    reason: str


@dataclass(frozen=True, slots=True)
class TurnDone:
    thread_id: str
    answer: str
    mode: str
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
    warnings: list[dict[str, Any]] = field(default_factory=list)  # {"source", "reasons"}: see Warning

    def as_dict(self) -> dict[str, Any]:
        return {
            "thread_id": self.thread_id, "answer": self.answer, "mode": self.mode,
            "fallback_reason": self.fallback_reason, "model": self.model, "prompt": self.prompt,
            "grounded": self.grounded, "intent": self.intent, "latency_ms": self.latency_ms,
            "draft_ms": self.draft_ms, "usage": self.usage, "tool_calls": self.tool_calls,
            "citations": [c.as_dict() for c in self.citations], "trace_id": self.trace_id,
            "warnings": self.warnings,
        }


@dataclass(frozen=True, slots=True)
class TurnFailed:
    error: str


@dataclass(frozen=True, slots=True)
class Trace:
    """One node's trace record (see agents/observability/telemetry.py)."""

    event: TraceEvent


Event = (DraftAnswer | TokenDelta | ToolStarted | ToolFinished | ApprovalNeeded | Degraded | CitationEvent | TurnDone
         | TurnFailed | Trace | Warning)
Approve = Callable[[ApprovalNeeded], bool]
Recorder = Callable[[str, TurnDone, list[TraceEvent]], str]  # (question, turn, its traces) -> the stored trace's id


def _citations(rows: list[dict[str, Any]]) -> list[Citation]:
    return [Citation(**row) for row in rows]


def _tool_events(update: dict[str, Any]) -> Iterator[Event]:
    """ToolStarted when the model asks for tools, ToolFinished when their results come back."""
    for node, values in update.items():
        for message in (values or {}).get("work", []) if isinstance(values, dict) else []:
            if node == "agent" and getattr(message, "tool_calls", None):
                for call in message.tool_calls:
                    yield ToolStarted(call["name"], call["args"])
            elif node == "tools" and getattr(message, "type", "") == "tool":
                yield ToolFinished(str(message.name), str(message.content)[:500])


class Runner:
    """Runs turns of a compiled ask graph; ``cancel`` stops the model between tokens, keeping the draft answer.

    A turn's checkpoint is written once, when the graph finishes or stops for an approval (durability "exit"), to
    SQLite with synchronous=FULL before ``ask`` returns: a finished turn survives a crash, a turn in flight does not,
    and the turn does not pay one disk sync per node.
    """

    def __init__(
        self, graph: Any, cancel: threading.Event | None = None, on_turn: Callable[[str, str], None] | None = None,
        recorder: Recorder | None = None,
    ) -> None:
        self.graph = graph
        self.cancel = cancel or threading.Event()
        self._on_turn = on_turn  # (thread id, question) after each finished turn: the thread catalogue
        self._recorder = recorder  # once per finished turn: the trace store

    def ask(self, question: str, thread_id: str | None = None, approve: Approve | None = None) -> Iterator[Event]:
        """One turn. Tools with side effects run only if ``approve`` says yes; with no ``approve``, they do not."""
        thread = thread_id or uuid.uuid4().hex[:12]
        config = {"configurable": {"thread_id": thread}}
        started = time.perf_counter()
        draft_ms: float | None = None
        self.cancel.clear()
        graph_input: Any = {"question": question}
        traces: list[TraceEvent] = []
        asked: list[tuple[str, bool]] = []  # (tool, the user's answer) for each approval of this turn
        try:
            while True:
                pending: list[ApprovalNeeded] = []
                for event in self._events(graph_input, config, pending):
                    if isinstance(event, DraftAnswer) and draft_ms is None:
                        draft_ms = round((time.perf_counter() - started) * 1000, 1)
                    elif isinstance(event, Trace):
                        traces.append(event.event)
                    yield event
                if not pending:
                    break
                yield from pending
                # None, not False, when nobody can answer: the audit log says "no one to ask", not "the user said no".
                decisions = {r.id: approve(r) if approve else None for r in pending}
                asked += [(r.tool, decisions[r.id] is True) for r in pending]
                graph_input = Command(resume=decisions)
            values = self.graph.get_state(config).values
        except DeskmateError as exc:
            yield TurnFailed(str(exc))
            return
        yield from self._finish(thread, question, values, started, draft_ms, traces, asked)

    def _events(self, graph_input: Any, config: dict[str, Any], pending: list[ApprovalNeeded]) -> Iterator[Event]:
        first_token: float | None = None
        for mode, payload in self.graph.stream(graph_input, config, stream_mode=["custom", "updates"],
                                               durability="exit"):
            if mode == "updates" and "__interrupt__" in payload:
                for item in payload["__interrupt__"]:
                    pending.append(ApprovalNeeded(item.value["tool"], item.value["args"], item.id,
                                                  item.value.get("reason", "")))
                continue
            if mode == "updates":
                yield from _tool_events(payload)
                continue
            if mode != "custom":
                continue
            if "draft" in payload:
                d = payload["draft"]
                yield DraftAnswer(d["text"], _citations(d["citations"]), d["workflow"])
            elif "warning" in payload:
                yield Warning(payload["warning"]["source"], list(payload["warning"]["reasons"]))
            elif "token" in payload:
                first_token = first_token or time.time()
                yield TokenDelta(payload["token"])
            elif "trace" in payload:
                event = TraceEvent(**payload["trace"])
                if event.node == "agent" and first_token is not None:  # this model step streamed: its first token
                    event, first_token = with_first_token(event, first_token), None
                yield Trace(event)

    def _finish(
        self, thread: str, question: str, values: dict[str, Any], started: float, draft_ms: float | None,
        traces: list[TraceEvent], asked: list[tuple[str, bool]],
    ) -> Iterator[Event]:
        if self._on_turn is not None:
            self._on_turn(thread, question)
        rounds = tool_traces(values.get("work") or [], traces, asked)
        yield from (Trace(event) for event in rounds)
        for row in values.get("citations", []):
            yield CitationEvent(Citation(**row))
        if values.get("mode") == "fallback" and values.get("fallback_reason"):
            yield Degraded(values["fallback_reason"])
        done = TurnDone(
            thread_id=thread,
            answer=values.get("answer", ""),
            mode=values.get("mode", "fallback"),
            fallback_reason=values.get("fallback_reason"),
            citations=_citations(values.get("citations", [])),
            model=values.get("model"),
            prompt=values.get("prompt"),
            grounded=bool(values.get("grounded", False)),
            intent=values.get("intent"),
            latency_ms=round((time.perf_counter() - started) * 1000, 1),
            draft_ms=draft_ms,
            usage=values.get("usage") or {},
            tool_calls=values.get("tool_calls") or [],
            warnings=values.get("warnings") or [],
        )
        if self._recorder is not None:
            done = replace(done, trace_id=self._record(question, done, [*traces, *rounds]))
        yield done

    def _record(self, question: str, done: TurnDone, traces: list[TraceEvent]) -> str | None:
        """The stored trace's id; a trace store that fails costs the turn its trace, never its answer."""
        assert self._recorder is not None
        try:
            return self._recorder(question, done, traces)
        except DeskmateError as exc:
            log.warning("the trace of this turn was not stored: %s", exc)
            return None

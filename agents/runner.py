"""The runner: one turn of the ask graph as a stream of plain events, for the command line and the desktop app."""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from langgraph.types import Command

from agents.events import (
    ApprovalNeeded,
    CitationEvent,
    Degraded,
    DraftAnswer,
    Event,
    Progress,
    TokenDelta,
    ToolFinished,
    ToolStarted,
    Trace,
    TurnDone,
    TurnFailed,
    Warning,
    visible,
)
from agents.observability.telemetry import TraceEvent, tool_traces, with_first_token
from agents.state import citations_of, warnings_of
from tools.errors import DeskmateError

if TYPE_CHECKING:
    from tools.index.scope import Scope

# The events are defined in agents/events.py (the nodes emit them too); callers keep importing them from here.
__all__ = ["ApprovalNeeded", "Approve", "CitationEvent", "Degraded", "DraftAnswer", "Event", "Progress", "Recorder",
           "Runner", "TokenDelta", "ToolFinished", "ToolStarted", "Trace", "TurnDone", "TurnFailed", "TurnOptions",
           "TurnPoint", "Warning", "visible", "FROM_START"]

log = logging.getLogger(__name__)


Approve = Callable[[ApprovalNeeded], bool]
Recorder = Callable[[str, TurnDone, list[TraceEvent]], str]  # (question, turn, its traces) -> the stored trace's id


def _tool_events(update: dict[str, Any]) -> Iterator[Event]:
    """ToolStarted when the model asks for tools, ToolFinished when their results come back."""
    for node, values in update.items():
        for message in (values or {}).get("work", []) if isinstance(values, dict) else []:
            if node == "agent" and getattr(message, "tool_calls", None):
                for call in message.tool_calls:
                    yield ToolStarted(call["name"], call["args"])
            elif node == "tools" and getattr(message, "type", "") == "tool":
                yield ToolFinished(str(message.name), str(message.content)[:500])


@dataclass(frozen=True, slots=True)
class TurnOptions:
    """How one turn runs, beyond its question.

    ``scope`` narrows the thread to folders, files, types and dates from this turn on (None keeps the thread's
    scope, an empty Scope clears it). ``action`` (a preset's id or word) applies that preset to ``selection``.
    ``checkpoint_id`` runs the turn from an earlier point of the thread (see ``Runner.turns``): edit-and-re-ask and
    regenerate fork the thread there, and the turns after it are no longer part of it.
    """

    scope: Scope | None = None
    action: str | None = None
    action_arg: str | None = None
    selection: str | None = None
    checkpoint_id: str | None = None


FROM_START = "start"


@dataclass(frozen=True, slots=True)
class TurnPoint:
    """One earlier turn of a thread and the checkpoint just before it (where a re-ask of it starts from)."""

    # The first turn has no checkpoint before it: re-asking it starts a new thread.

    checkpoint_id: str
    question: str
    answer: str


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

    def ask(self, question: str, thread_id: str | None = None, approve: Approve | None = None, *,
            options: TurnOptions | None = None) -> Iterator[Event]:
        """One turn. Tools with side effects run only if ``approve`` says yes; with no ``approve``, they do not."""
        options = options or TurnOptions()
        fresh = options.checkpoint_id == FROM_START  # re-asking a thread's first turn: a new thread
        thread = uuid.uuid4().hex[:12] if fresh or not thread_id else thread_id
        config: dict[str, Any] = {"configurable": {"thread_id": thread}}
        if options.checkpoint_id and not fresh:
            config["configurable"]["checkpoint_id"] = options.checkpoint_id
            if not self.graph.get_state(config).values:  # LangGraph would start the thread over from nothing
                yield TurnFailed(f"there is no point {options.checkpoint_id!r} in this conversation to ask again from")
                return
        started = time.perf_counter()
        draft_ms: float | None = None
        self.cancel.clear()
        # A re-asked turn (regenerate, edit) wants a new answer: not the cached one it is replacing.
        graph_input: Any = {"question": question, "action": options.action, "action_arg": options.action_arg,
                            "selection": options.selection, "fresh": bool(options.checkpoint_id)}
        if options.scope is not None:
            graph_input["scope"] = None if options.scope.empty else options.scope.as_dict()
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
                config = {"configurable": {"thread_id": thread}}  # a fork resumes from its own newest checkpoint
            values = self.graph.get_state({"configurable": {"thread_id": thread}}).values
        except DeskmateError as exc:
            yield TurnFailed(str(exc))
            return
        yield from self._finish(thread, question, values, started, draft_ms, traces, asked)

    def scope(self, thread_id: str) -> dict[str, Any] | None:
        """The thread's own scope (``Scope.as_dict()``), None when it searches the whole index."""
        values = self.graph.get_state({"configurable": {"thread_id": thread_id}}).values
        return values.get("scope") or None

    def turns(self, thread_id: str) -> list[TurnPoint]:
        """The thread's turns on its current branch, oldest first, each with the checkpoint before it.

        Checkpoints are written when a turn ends (or stops for an approval), so the checkpoint before turn n is the
        one turn n-1 ended with; the first turn's is ``FROM_START``. The branch is followed back through each
        checkpoint's parent, so turns left behind by an earlier fork are not listed.
        """
        ends: list[Any] = []
        snapshot = self.graph.get_state({"configurable": {"thread_id": thread_id}})
        while snapshot is not None and snapshot.config:
            if not snapshot.next and snapshot.values.get("question") is not None:
                ends.append(snapshot)  # a finished turn (one stopped for an approval still has a next node)
            parent = snapshot.parent_config
            snapshot = self.graph.get_state(parent) if parent else None
        ends.reverse()
        points: list[TurnPoint] = []
        for n, end in enumerate(ends):
            before = FROM_START if n == 0 else str(ends[n - 1].config["configurable"]["checkpoint_id"])
            points.append(TurnPoint(before, str(end.values.get("question", "")), str(end.values.get("answer", ""))))
        return points

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
            # The nodes write the events themselves (agents/nodes.py); a trace record becomes a Trace event here,
            # where the first token's time is known.
            if isinstance(payload, TraceEvent):
                event = payload
                if event.node == "agent" and first_token is not None:  # this model step streamed: its first token
                    event, first_token = with_first_token(event, first_token), None
                yield Trace(event)
                continue
            if isinstance(payload, TokenDelta):
                first_token = first_token or time.time()
            yield payload

    def _finish(
        self, thread: str, question: str, values: dict[str, Any], started: float, draft_ms: float | None,
        traces: list[TraceEvent], asked: list[tuple[str, bool]],
    ) -> Iterator[Event]:
        if self._on_turn is not None:
            self._on_turn(thread, question)
        rounds = tool_traces(values.get("work") or [], traces, asked)
        yield from (Trace(event) for event in rounds)
        citations = citations_of(values.get("citations", []))
        yield from (CitationEvent(citation) for citation in citations)
        if values.get("mode") == "fallback" and values.get("fallback_reason"):
            yield Degraded(values["fallback_reason"])
        done = TurnDone(
            thread_id=thread,
            answer=values.get("answer", ""),
            mode=values.get("mode", "fallback"),
            fallback_reason=values.get("fallback_reason"),
            citations=citations,
            model=values.get("model"),
            prompt=values.get("prompt"),
            grounded=bool(values.get("grounded", False)),
            intent=values.get("intent"),
            latency_ms=round((time.perf_counter() - started) * 1000, 1),
            draft_ms=draft_ms,
            usage=values.get("usage") or {},
            tool_calls=values.get("tool_calls") or [],
            warnings=warnings_of(values.get("warnings") or []),
            route=values.get("route") or "files",
            route_reason=values.get("route_reason") or "",
            query=values.get("query") if values.get("query_reason") else None,
            scope=values.get("turn_scope") or None,
            action=values.get("action"),
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


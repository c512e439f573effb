"""The agent's tools: plain functions from tools/ wrapped as LangChain tools; their docstrings are what the model reads.

Reads (search, read a file, list files, calculate, dates, recall) run without asking. Tools with side effects
(writing a note, opening a file or a web address, remembering or forgetting a fact) go through an approval: the
graph stops with a LangGraph interrupt and the runner asks the user. Each has a policy: "ask" (the default),
"always" or "never"; with no one to ask, the answer is "not approved" and nothing happens (a call the gate stops
returns a ToolMessage whose artifact is its Decision, "denied" or "refused": telemetry reads that, not the text). A turn
that read text which looks like instructions to the model (its ``warnings``, see agents/guard/guards.py) asks even
under "always", and says why; "never" still refuses. Every decision on a side effect is appended to the audit log
(agents/guard/audit.py).

Scope: the reads keep to the conversation's scope (tools/index/scope.py), which they find in the graph's state (the
turn's ``turn_scope``, else the thread's ``scope``): search adds the scope's filters, read_file and summarize_file
refuse a file outside it and say so, list_recent_files lists only files inside it.

Exactly once: each decision is keyed by the model's tool call id and written down (audit log, synced, and a ledger in
memory) before the action runs; a call whose id is already decided never runs or asks again, whatever replays it.
The graph runs each call of a step as its own task, reads before side effects (agents/graph.py), so an interrupt
re-runs only the call that asked. A fact the model wants remembered that reads as instructions is refused.
"""

from __future__ import annotations

import inspect
import os
import re
import subprocess
import sys
import threading
import webbrowser
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from langchain_core.messages import ToolMessage
from langchain_core.tools import BaseTool, InjectedToolCallId, StructuredTool
from langgraph.config import get_config
from langgraph.prebuilt import InjectedState
from langgraph.types import interrupt

from agents.guard import guards
from agents.guard.audit import AuditLog, Decision
from agents.guard.screening import Screen, caution
from agents.workflows import extractive_summary
from tools import calc, clock, files
from tools.errors import ToolInputError
from tools.index.knowledge import KnowledgeIndex
from tools.index.scope import Scope
from tools.index.search import SearchHit
from tools.index.search import search as search_index
from tools.index.walker import refusal
from tools.memory import MemoryStore
from tools.sandbox import confine

Search = Callable[[str, int], list[SearchHit]]

Policy = Literal["ask", "always", "never"]
SIDE_EFFECTS = ("write_note", "open_path", "remember", "forget")
State = Annotated[dict[str, Any], InjectedState]  # the graph's state, passed by ToolNode; the model never sees it
CallId = Annotated[str, InjectedToolCallId]  # the id of the model's tool call, passed by ToolNode
_SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]+):")


@dataclass(frozen=True, slots=True)
class ToolContext:
    # search(query, k), or search(query, k, filters=SearchFilters) to keep to a scope itself; one without filters
    # is bypassed for a scoped search when there is an index, and its results filtered when there is none.
    search: Search
    index: KnowledgeIndex | None = None
    memory: MemoryStore | None = None
    notes_dir: Path | None = None
    policies: dict[str, Policy] = field(default_factory=dict)
    opener: Callable[[str], None] | None = None  # how open_path opens; the system's default application if None
    audit_log: Path | None = None  # where each decision on a side effect is appended (data_dir/audit.jsonl)
    screen: Screen | None = guards.scan  # what a fact must pass before it is remembered; None turns it off


class _Gate:
    """Decides each side effect (policy, the turn's warnings, the user) and writes the decision down before it runs."""

    def __init__(self, ctx: ToolContext) -> None:
        self.ctx = ctx
        self.log = AuditLog(ctx.audit_log) if ctx.audit_log is not None else None
        self._decided: dict[str, Decision] = {}  # tool call id -> decision: the ledger, also without an audit log
        # Call ids already looked for on disk and not found: only this gate writes them after that, into _decided,
        # so approve() and record() of one call read the audit log once, not twice.
        self._not_on_disk: set[str] = set()
        self._lock = threading.Lock()  # the calls of one step run side by side

    def _prior(self, call: str) -> Decision | None:
        if call in self._decided:
            return self._decided[call]
        if call in self._not_on_disk or self.log is None:
            return None
        entry = self.log.decided(call)  # after a restart: what is on disk
        if entry is None:
            self._not_on_disk.add(call)
            return None
        return entry.decision

    @staticmethod
    def _repeat(tool: str, call: str, decision: Decision) -> ToolMessage:
        if decision == "allowed":
            return ToolMessage(f"not repeated: {tool} already ran for this tool call", tool_call_id=call, name=tool)
        return _denial(tool, call, decision, f"not approved: {tool} was already {decision} for this tool call")

    def record(self, tool: str, args: dict[str, Any], call: str, decision: Decision,
               decided_by: Literal["user", "policy"], reason: str, told: str = "") -> ToolMessage | None:
        """Write the decision down, once per call id: None when the call may run now, else what the model is told."""
        with self._lock:
            prior = self._prior(call)
            if prior is not None:
                return self._repeat(tool, call, prior)
            if self.log is not None:
                thread = get_config().get("configurable", {}).get("thread_id")
                self.log.record(thread, tool, args, decision, decided_by, reason, call)
            self._decided[call] = decision
        if decision == "allowed":
            return None
        return _denial(tool, call, decision, told or f"not approved: the user declined {tool}")

    def approve(self, tool: str, args: dict[str, Any], state: dict[str, Any], call: str) -> ToolMessage | None:
        """None when the call may run; otherwise the message the model gets instead of a result."""
        prior = self._prior(call)
        if prior is not None:  # a replayed call: neither asked nor run again
            return self._repeat(tool, call, prior)
        policy = self.ctx.policies.get(tool, "ask")
        why = caution(state.get("warnings") or [])
        if policy == "never":
            return self.record(tool, args, call, "refused", "policy", f"the policy for {tool} is never",
                               f"not approved: the user does not allow {tool}")
        if policy == "always" and not why:
            return self.record(tool, args, call, "allowed", "policy", f"the policy for {tool} is always")
        decision = interrupt({"tool": tool, "args": args, "reason": why})
        if decision is True:
            return self.record(tool, args, call, "allowed", "user", why or "the user approved")
        if decision is None:  # nobody to ask (a script, a pipe): no is the answer
            return self.record(tool, args, call, "denied", "policy",
                               "no one was there to approve it" + (f"; {why}" if why else ""))
        return self.record(tool, args, call, "denied", "user", why or "the user declined")

    def refuse(self, tool: str, args: dict[str, Any], call: str, error: ToolInputError) -> ToolInputError:
        self.record(tool, args, call, "refused", "policy", str(error))
        return error


def _denial(tool: str, call: str, decision: Decision, told: str) -> ToolMessage:
    """What the model gets instead of a result; the artifact (not checkpointed prose) says the gate stopped the call."""
    return ToolMessage(told, tool_call_id=call, name=tool, artifact=decision)


def _open_target(ctx: ToolContext, target: str) -> str:
    """What open_path may open: an http(s) address as given, or the real path of a file in the indexed folders."""
    text = target.strip() if isinstance(target, str) else ""
    scheme = _SCHEME.match(text)
    if scheme and len(scheme.group(1)) > 1:  # "C:" is a Windows drive, not a scheme
        name = scheme.group(1).lower()
        if name not in ("http", "https"):
            raise ToolInputError(f"{name}: addresses cannot be opened; only http(s) web addresses and files in the "
                                 "indexed folders can")
        if not urlsplit(text).hostname or any(ch.isspace() or ord(ch) < 32 for ch in text):
            raise ToolInputError(f"{text!r} is not a web address that can be opened")
        return text
    if ctx.index is None:
        raise ToolInputError("no folders are indexed, so no file can be opened")
    real = confine(text, files.root_paths(ctx.index))
    if not real.exists():
        raise ToolInputError(f"{target} does not exist (any more)")
    # The same rule as read_file: a hidden or excluded file (.config/..., *.log) is not the user's document.
    why = refusal(str(real), ctx.index.roots(), ctx.index.options, real.stat())
    if why:
        raise ToolInputError(f"{target} {why}, so it cannot be opened")
    return str(real)


def _open_with_system(target: str) -> None:
    if target.startswith(("http://", "https://")):
        webbrowser.open(target)
    elif sys.platform == "darwin":
        subprocess.run(["open", target], check=False)
    elif sys.platform == "win32":
        subprocess.run(["cmd", "/c", "start", "", target], check=False)
    else:
        subprocess.run(["xdg-open", target], check=False)


def scope_of(state: dict[str, Any]) -> Scope:
    """The scope this turn keeps to: the turn's (the thread's plus its @-mentions), else the thread's."""
    return Scope.of(state["turn_scope"] if "turn_scope" in state else state.get("scope"))


def _outside(scope: Scope, path: str) -> ToolInputError:
    return ToolInputError(f"{path} is outside this conversation's scope ({', '.join(scope.describe())}), so it is "
                          "not read; the user can widen or clear the scope to include it")


def _scoped_search(ctx: ToolContext) -> Callable[[str, int, Scope], list[SearchHit]]:
    """Search within a scope: through ``ctx.search`` when it takes filters, else the index, else by filtering."""
    try:
        takes_filters = "filters" in inspect.signature(ctx.search).parameters
    except (TypeError, ValueError):  # a callable without a signature: treated as search(query, k)
        takes_filters = False

    def run(query: str, k: int, scope: Scope) -> list[SearchHit]:
        if scope.empty:
            return ctx.search(query, k)
        if takes_filters:
            hits: list[SearchHit] = ctx.search(query, k, filters=scope.filters())  # type: ignore[call-arg]
            return hits
        if ctx.index is not None:
            return search_index(ctx.index, query, k=k, filters=scope.filters())
        # No filters to give: ask for more and keep those inside (dates cannot be checked on a hit).
        return [h for h in ctx.search(query, k * 4) if scope.allows(h.path, file_type=h.file_type)][:k]

    return run


def _check_scope(index: KnowledgeIndex, scope: Scope, path: str) -> None:
    """Refuse ``path`` when it is outside ``scope`` both as given and as the real file it leads to."""
    if scope.empty:
        return
    states = index.manifest.files(index.active_generation)

    def inside(candidate: str) -> bool:
        state = states.get(candidate)
        return scope.allows(candidate, file_type=state.file_type if state else None,
                            mtime=state.mtime_ns / 1e9 if state else None)

    # As given (a link the index keeps under its own name), then where it leads (which must be in the roots anyway).
    # A relative path is read against the roots, not the current folder: only confine says where it lands.
    if isinstance(path, str) and "\x00" not in path and os.path.isabs(path) and inside(os.path.normpath(path)):
        return
    if not inside(str(confine(path, files.root_paths(index)))):
        raise _outside(scope, path)


def build_tools(ctx: ToolContext) -> list[BaseTool]:
    """The tools for ``ctx``; tools whose parts are missing (no index, no memory, no notes folder) are left out."""
    gate = _Gate(ctx)
    scoped = _scoped_search(ctx)

    def search_files(query: str, state: State, k: int = 5, file_type: str | None = None) -> str:
        """Search the user's indexed files. Returns the best matching passages with file, page and lines."""
        hits = scoped(query, max(1, min(k, 10)), scope_of(state))
        if file_type:
            hits = [h for h in hits if (h.file_type or "").lower() == file_type.lower()]
        if not hits:
            return "no matching passages"
        places = [f"{h.path}{f' p.{h.page}' if h.page else ''}:{h.line_start or ''}" for h in hits]
        return "\n\n".join(f"{place}\n{h.snippet}" for place, h in zip(places, hits, strict=True))

    def calculator(expression: str) -> str:
        """Compute arithmetic, percentages or a unit conversion exactly, e.g. '15% of 80' or '5 km in miles'."""
        return calc.calculate(expression).text

    def current_datetime(timezone: str | None = None) -> str:
        """The current date and time, locally or in an IANA time zone such as 'Europe/Oslo'."""
        return clock.now(timezone).text

    def date_calculation(query: str) -> str:
        """Date arithmetic: 'how many days until 2027-01-01', '30 days from today', 'what weekday is 2027-03-14'."""
        return clock.date_math(query).text

    made: list[Callable[..., str | ToolMessage]] = [search_files, calculator, current_datetime, date_calculation]

    if ctx.index is not None:
        index = ctx.index

        def read_file(path: str, state: State, page: int | None = None, line_start: int | None = None,
                      line_end: int | None = None) -> str:
            """Read an indexed file: one page of a PDF, a range of lines, or its beginning."""
            _check_scope(index, scope_of(state), path)
            excerpt = files.read_file(index, path, page, line_start, line_end)
            return excerpt.text + ("\n[truncated]" if excerpt.truncated else "")

        def list_recent_files(state: State, limit: int = 10) -> str:
            """The most recently changed indexed files, newest first."""
            scope = scope_of(state)
            recent = files.list_recent_files(index, limit if scope.empty else 100)
            kept = [p for p, mtime in recent if scope.allows(p, mtime=mtime)][:max(1, limit)]
            return "\n".join(kept) or ("no indexed files" if scope.empty else "no indexed files in this scope")

        def summarize_file(path: str, state: State) -> str:
            """A short extractive summary of one indexed file: its key sentences, in order, with line numbers."""
            scope = scope_of(state)
            _check_scope(index, scope, path)
            hits = scoped(Path(path).stem, 10, scope)
            return extractive_summary(path, [h for h in hits if h.path == path] or hits[:3]).text

        made += [read_file, list_recent_files, summarize_file]

    if ctx.memory is not None:
        memory = ctx.memory

        def remember(fact: str, state: State, call: CallId) -> str | ToolMessage:
            """Store a fact the user asked you to remember (asks the user first)."""
            args = {"fact": fact}
            found = ctx.screen(fact) if ctx.screen is not None else guards.CLEAN
            if found.suspicious:  # stored, it would reach every later prompt that recalls it: a lasting injection
                problem = ToolInputError(f"not remembered: the fact looks like instructions to the model "
                                         f"({found.reasons[0]}); only plain statements about the user are kept")
                raise gate.refuse("remember", args, call, problem)
            refused = gate.approve("remember", args, state, call)
            return refused or f"remembered: {memory.add(fact).text}"

        def recall(query: str) -> str:
            """Facts the user asked you to remember that relate to the query."""
            found = memory.recall(query, k=5)
            return "\n".join(r.memory.text for r in found) or "nothing remembered about that"

        def forget(query: str, state: State, call: CallId) -> str | ToolMessage:
            """Forget the remembered facts the query clearly refers to (asks the user first)."""
            refused = gate.approve("forget", {"query": query}, state, call)
            if refused:
                return refused
            gone = memory.forget_matching(query)
            return "forgot: " + "; ".join(m.text for m in gone) if gone else "nothing matching to forget"

        made += [remember, recall, forget]

    if ctx.notes_dir is not None:
        notes_dir = ctx.notes_dir

        def write_note(title: str, text: str, state: State, call: CallId) -> str | ToolMessage:
            """Save a note as a Markdown file in the user's Deskmate notes folder (asks the user first)."""
            refused = gate.approve("write_note", {"title": title, "text": text}, state, call)
            return refused or f"saved {files.write_note(notes_dir, title, text)}"

        made.append(write_note)

    def open_path(target: str, state: State, call: CallId) -> str | ToolMessage:
        """Open an indexed file or an http(s) web address in the user's default application (asks the user first)."""
        args = {"target": target}
        try:
            where = _open_target(ctx, target)
        except ToolInputError as exc:
            raise gate.refuse("open_path", args, call, exc) from None
        refused = gate.approve("open_path", args, state, call)
        if refused:
            return refused
        (ctx.opener or _open_with_system)(where)
        return f"opened {where}"

    made.append(open_path)
    # A tool's failure (bad arguments, a refused path) goes back to the model as a message: ToolNode does that.
    # The graph reads "side_effects" to run these after the step's reads (agents/graph.py).
    return [StructuredTool.from_function(fn, metadata={"side_effects": fn.__name__ in SIDE_EFFECTS}) for fn in made]


def has_side_effects(tool: BaseTool) -> bool:
    """Whether ``tool`` acts on the world (and so goes through an approval) rather than only reading."""
    return bool((tool.metadata or {}).get("side_effects"))

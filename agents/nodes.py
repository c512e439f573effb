"""The ask graph's nodes and routing decisions: module-level functions of (state, deps), testable one by one.

Each node reads the checkpointed state (agents/state.py), writes the turn's events (agents/events.py) through
LangGraph's stream writer, and returns its update. ``GraphDeps`` holds what they are given; none builds a model.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    AnyMessage,
    BaseMessage,
    HumanMessage,
    RemoveMessage,
    SystemMessage,
    ToolMessage,
)
from langchain_core.tools import BaseTool
from langgraph.config import get_stream_writer
from langgraph.graph.message import REMOVE_ALL_MESSAGES
from langgraph.types import Send, interrupt

from agents import documents, drafts, openings, prompts, route, workflows
from agents.cache import SemanticCache, SourcesExist
from agents.citations import verify
from agents.conversations.followup import standalone
from agents.conversations.history import turns_of
from agents.events import DraftAnswer, Progress, Route, TokenDelta, Warning
from agents.grounding import llm_citations, unusable
from agents.guard import guards, screening
from agents.intent import IntentClassifier
from agents.presets import Presets, parse_command
from agents.providers.errors import ProviderError
from agents.routing import Models, no_models
from agents.state import AskState, citation_rows, hit_rows, hits_of
from agents.toolset import Policy, has_side_effects
from tools.errors import DeskmateError
from tools.index.inventory import InventoryAnswer
from tools.index.scope import Scope, mentions
from tools.index.search import SearchFilters, SearchHit
from tools.memory import MemoryStore

log = logging.getLogger(__name__)

MAX_QUESTION_CHARS = 4000
MAX_SELECTION_CHARS = 20_000  # about 3,000 words: more than a model call of an action can read
SOURCES = openings.SOURCES
RETRIEVE_K = 8
ANSWER_TOKENS = 200
MAX_STEPS = 4  # model calls per turn: tool rounds are bounded
RECALL_MIN = 0.45  # a memory this close to the question goes into the model's prompt


class Retrieve(Protocol):
    """The ``k`` best chunks for a query, within ``filters`` (a thread's scope) when given."""

    def __call__(self, query: str, k: int, /, filters: SearchFilters | None = None) -> list[SearchHit]: ...


Inventory = Callable[[str, Scope | None], InventoryAnswer | None]


@dataclass(frozen=True, slots=True)
class GraphDeps:
    """The ask graph's parts; ``screen=None`` turns the injection guard off."""

    retrieve: Retrieve | Callable[[str, int], list[SearchHit]]
    models: Models = no_models
    classifier: IntentClassifier | None = None
    cancel: Callable[[], threading.Event | None] = lambda: None  # the turn's cancel event, read when a model streams
    embed: workflows.Embed | None = None
    memory: MemoryStore | None = None
    cache: SemanticCache | None = None
    sources_exist: SourcesExist = lambda hashes: False
    tools: Sequence[BaseTool] = ()
    max_steps: int = MAX_STEPS
    consent: Policy = "ask"  # keeping a fact the user mentioned about themselves
    screen: screening.Screen | None = guards.scan
    system_prompt: Callable[[], str] = lambda: ""  # the user's own (Settings), read each turn
    presets: Callable[[], Presets] | None = None  # the actions on selected text (agents/presets.py)
    inventory: Inventory | None = None  # counting and listing questions about the index, answered from its manifest
    known_paths: Callable[[], list[str]] = list  # the indexed files, for @mentions and named documents
    document: Callable[[str], list[SearchHit]] | None = None  # every chunk of one indexed file, in reading order

    @property
    def side_effects(self) -> frozenset[str]:
        return frozenset(t.name for t in self.tools if has_side_effects(t))


def _warn(rows: screening.Warnings) -> None:
    write = get_stream_writer()
    for row in rows:
        write(Warning.of(row))


def _said(answer: str, route_: Route, reason: str, mode: str = "fallback") -> AskState:
    """A turn answered before any retrieval or model: an empty request, a refused action."""
    return {"answer": answer, "mode": mode, "fallback_reason": None, "citations": [], "grounded": True,  # type: ignore[typeddict-item]
            "route": route_, "route_reason": reason, "hits": []}


def check_input(state: AskState, deps: GraphDeps) -> AskState:
    question = state.get("question", "").strip()[:MAX_QUESTION_CHARS]
    action, arg, selection = state.get("action"), state.get("action_arg"), state.get("selection")
    presets = deps.presets() if deps.presets is not None else None
    if action is None and question.startswith("/") and presets is not None:
        command = parse_command(question, presets)
        if command is not None:  # "/translate de", "/summarise": an action on the selection or on the text after it
            action, arg = command.preset.id, command.arg
            selection = selection if selection and selection.strip() else command.text
    user_system = deps.system_prompt()
    fresh: AskState = {
        "question": question, "answer": "", "fallback_reason": None, "model": None, "prompt": None, "usage": {},
        "work": [RemoveMessage(id=REMOVE_ALL_MESSAGES)],  # type: ignore[list-item]  # add_messages clears on it
        "steps": 0, "tool_calls": [], "model_index": 0, "failures": [], "retry": False, "agent_failed": False,
        "warnings": [], "flagged": [], "facts": [], "hits": [], "citations": [], "query": question,
        "query_reason": None, "turn_scope": state.get("scope"), "route": "files", "route_reason": "",
        "relevance": None, "related": None, "uses_files": False, "action": None, "action_arg": None, "selection": None,
        "document": None,
        "system_ref": openings.user_system_ref(user_system), "cache_hit": False,
    }
    if action is not None:
        if presets is None:
            return {**fresh, **_said("Actions on selected text are not available here.", "action", "no presets")}
        try:
            preset = presets.get(action)
        except DeskmateError as exc:
            return {**fresh, **_said(str(exc), "action", "unknown action")}
        text = (selection or "").strip()
        if not text:
            return {**fresh, **_said(f"Select some text first, or write it after the command, for example: "
                                     f"/{preset.word} {preset.default_arg or ''} your text".replace("  ", " "),
                                     "action", "no text to act on")}
        if len(text) > MAX_SELECTION_CHARS:
            return {**fresh, **_said(_too_long(text), "action", "selection too long")}
        return {**fresh, "question": question or preset.title, "action": preset.id, "action_arg": arg,
                "selection": text, "route": "action", "warnings": _screen_selection(text, deps), "intent": "question",
                "uses_files": preset.uses_files,
                "route_reason": f"the {preset.title.lower()} action on the selected text"}
    if not question:
        return {**fresh, **_said("Please ask a question.", "files", "empty question"),
                "fallback_reason": "empty question"}
    if selection and selection.strip():  # a question about the selected text: the model answers it from that text
        text = selection.strip()
        if len(text) > MAX_SELECTION_CHARS:
            return {**fresh, **_said(_too_long(text), "general", "selection too long")}
        return {**fresh, "selection": text, "route": "general", "intent": "question",
                "warnings": _screen_selection(text, deps), "route_reason": "a question about the selected text"}
    return fresh


def _too_long(text: str) -> str:
    return (f"The selected text is too long ({len(text):,} characters; the limit is {MAX_SELECTION_CHARS:,}). "
            "Select a shorter part.")


def _screen_selection(text: str, deps: GraphDeps) -> screening.Warnings:
    """The selection is screened like a document: text that addresses the model is fenced as data, and said."""
    found = deps.screen(text) if deps.screen is not None else None
    if found is None or not found.suspicious:
        return []
    warnings = screening.merge([], "the selected text", found.reasons)
    _warn(warnings)
    return warnings


def classify(state: AskState, deps: GraphDeps) -> AskState:
    if state.get("route") == "action" or state.get("selection") or state.get("answer"):
        return {}
    question = state["question"]
    update: AskState = {}
    if "@" in question:  # "@contract.pdf what are the deadlines": this turn reads that file only
        files, rest = mentions(question, deps.known_paths())
        if files:
            scope = Scope.of(state["turn_scope"]) if state.get("turn_scope") else Scope()
            update["turn_scope"] = scope.with_files(files).as_dict()
            update["query"] = rest or question
    state = {**state, **update}
    intent = (deps.classifier or IntentClassifier()).classify(state["query"]).intent
    chosen, why, path = drafts.before_retrieval(state["query"], intent, state, deps)
    return {**update, "intent": intent, "route": chosen, "route_reason": why, "document": path}


def followup(state: AskState, deps: GraphDeps) -> AskState:
    """A follow-up that leans on earlier turns ("and for it?") becomes a standalone query for retrieval."""
    if state.get("route") != "files" or state.get("answer"):
        return {}
    made = standalone(state["query"], turns_of(state.get("messages") or []))
    return {"query": made.query, "query_reason": made.reason} if made.changed else {}


def _cached_model(question: str, deps: GraphDeps) -> str | None:
    getters = deps.models(question)
    try:
        return getters[0]().model_name if getters else None
    except ProviderError:
        return None


def _prompt_ref(state: AskState, base: str) -> str:
    system_ref = state.get("system_ref")
    return f"{base}+{system_ref}" if system_ref else base


def cache_lookup(state: AskState, deps: GraphDeps) -> AskState:
    cache = deps.cache
    # Only a standalone question over the whole index: a follow-up's answer depends on the thread, a scoped one on
    # the scope.
    plain = state.get("route") == "files" and state.get("intent") == "question" and not state.get("query_reason") \
        and not state.get("turn_scope") and not state.get("answer") and not state.get("fresh")
    name = _cached_model(state["question"], deps) if cache is not None and plain else None
    if cache is None or name is None:
        return {"cache_hit": False}
    ref = _prompt_ref(state, prompts.load("answer_from_sources").ref)
    hit = cache.lookup(state["question"], name, ref, deps.sources_exist)
    if hit is None:
        return {"cache_hit": False}
    return {"cache_hit": True, "answer": hit.answer, "citations": hit.citations, "mode": "cache",
            "model": hit.model, "prompt": hit.prompt, "grounded": True, "fallback_reason": None, "usage": {},
            "route_reason": "the same question was answered from the same sources before"}


def _search(deps: GraphDeps, query: str, k: int, scope: Scope | None) -> list[SearchHit]:
    if scope is None or scope.empty:
        return deps.retrieve(query, k)
    return deps.retrieve(query, k, filters=scope.filters())  # type: ignore[call-arg]


def retrieve(state: AskState, deps: GraphDeps) -> AskState:
    on_files = state.get("route") == "files" or (state.get("route") == "action" and state.get("uses_files"))
    if not on_files or state.get("answer") or state["intent"] not in ("question", "search", "summarize"):
        return {"hits": [], "retrieval_error": None}
    scope = Scope.of(state["turn_scope"]) if state.get("turn_scope") else None
    # An action that uses the files searches them for what the selected text is about.
    query = drafts.selection_query(state) if state.get("route") == "action" else state.get("query") or state["question"]
    try:
        hits = _search(deps, query, RETRIEVE_K, scope)
    except DeskmateError as exc:  # a locked or damaged index: answer without documents, and say why
        return {"hits": [], "retrieval_error": str(exc)}
    if state.get("query_reason") and len(hits) < RETRIEVE_K:  # a follow-up may use the previous turn's sources
        seen = {hit.chunk_hash for hit in hits}
        earlier = [h for h in hits_of({"hits": state.get("last_hits") or []}) if h.chunk_hash not in seen
                   and (scope is None or scope.allows(h.path, file_type=h.file_type))]
        hits = [*hits, *earlier][:RETRIEVE_K]
    update: AskState = {"hits": hit_rows(hits), "retrieval_error": None}
    if state["intent"] == "question" and state.get("route") == "files":
        score = route.relevance(query, hits[:SOURCES], deps.embed)
        decision = route.after_retrieval(query, hits[:SOURCES], score, scoped=scope is not None and not scope.empty)
        update.update({"relevance": score, "related": decision.related, "route": decision.route,
                       "route_reason": decision.reason})
        if not decision.related:
            return update  # the sources will not be read: nothing to screen
    screen, memory = deps.screen, deps.memory
    # The sources the model will read (those that name what the question names: openings.model_sources) are
    # screened; the draft quotes from the same ones, and lower-ranked hits are listed at most.
    shown = workflows.naming(query, hits[:SOURCES])
    warnings, flagged = screening.screen_hits(shown, screen) if screen else ([], [])
    # What the user asked Deskmate to remember, when it bears on the question: screened each time, like a source
    # (a stored fact may predate the screen, or the user may have kept one that reads as instructions).
    asks = memory is not None and bool(hits) and state["intent"] == "question"  # only a model answer uses them
    recalled = memory.recall(state["question"], k=3, min_score=RECALL_MIN) if memory and asks else []
    facts, fact_warnings = screening.screen_facts(recalled, screen)
    for warning in fact_warnings:
        warnings = screening.merge(warnings, warning["source"], warning["reasons"])
    _warn(warnings)
    return {**update, "warnings": warnings, "flagged": flagged, "facts": facts}


def _has_model(state: AskState, deps: GraphDeps) -> bool:
    return bool(deps.models(state["question"]))


def draft(state: AskState, deps: GraphDeps) -> AskState:
    if state.get("answer"):  # answered already (an empty request, a refused action, the cache)
        return {}
    result, mode, reason = drafts.routed(state, deps)
    chosen = state.get("route", "files")
    if chosen in ("general", "action") and _has_model(state, deps) and mode == "fallback":
        # The model answers these alone: the "needs a model" text is the answer only if no model does.
        return {"draft": {"text": result.text, "citations": [], "workflow": result.workflow}, "answer": result.text,
                "citations": [], "mode": "fallback", "grounded": True, "fallback_reason": reason}
    get_stream_writer()(DraftAnswer(result.text, list(result.citations), result.workflow))
    rows = citation_rows(result.citations)
    if chosen == "general" and not _has_model(state, deps):
        reason = "no model is set up or working"
    return {"draft": {"text": result.text, "citations": rows, "workflow": result.workflow}, "answer": result.text,
            "citations": rows, "mode": mode, "grounded": True, "fallback_reason": reason}  # type: ignore[typeddict-item]


def needs_model(state: AskState, deps: GraphDeps) -> str:
    if state.get("cache_hit") or not _has_model(state, deps):
        return "finish"
    chosen = state.get("route", "files")
    if chosen in ("general", "action"):
        return "agent"
    if chosen == "document":
        return "document" if state.get("document") else "finish"
    related = state.get("related") is not False
    wants = chosen == "files" and state["intent"] == "question" and bool(state["hits"]) and related \
        and not state.get("retrieval_error")
    return "agent" if wants else "finish"


def _opening(state: AskState, deps: GraphDeps, count_tokens: Callable[[str], int]) -> tuple[list[BaseMessage], str]:
    """The first step's messages for the turn's route, and the prompt's ref."""
    user_system = deps.system_prompt()
    chosen = state.get("route", "files")
    if chosen == "action":
        assert deps.presets is not None
        preset = deps.presets().get(str(state.get("action")))
        ref = preset.ref + (f"+{prompts.load('untrusted').ref}" if state.get("warnings") else "")
        sources = openings.model_sources(state) if state.get("uses_files") else []
        return openings.action_opening(preset, state.get("action_arg"), state.get("selection") or "",
                                       user_system, sources, frozenset(state.get("flagged") or [])), \
            _prompt_ref(state, ref)
    earlier = openings.history(state, count_tokens)
    if chosen == "general":
        return openings.general_opening(state, user_system, earlier), _prompt_ref(state, prompts.load("general").ref)
    ref = prompts.load("answer_from_sources").ref + (f"+{prompts.load('untrusted').ref}" if state.get("warnings")
                                                     else "")
    return openings.files_opening(state, user_system, earlier), _prompt_ref(state, ref)


def agent(state: AskState, deps: GraphDeps) -> AskState:
    """One model step: the request (with its sources or selection) on the first, the tools' results after that."""
    getters = deps.models(state["question"])
    which = state.get("model_index", 0)
    steps = state.get("steps", 0)
    write = get_stream_writer()
    name = None
    ref = state.get("prompt")
    try:
        chat = getters[which]()
        name = chat.model_name
        opening: list[BaseMessage] = []
        if steps == 0:
            opening, ref = _opening(state, deps, chat.get_num_tokens)
        # Tools only for questions about the files: a general answer or an action has nothing to look up.
        tools = deps.tools if state.get("route", "files") == "files" else ()
        runnable = chat.bind_tools(tools) if tools else chat
        merged: AIMessageChunk | None = None
        for chunk in runnable.stream([*state.get("work", []), *opening], cancel=deps.cancel(),
                                     max_tokens=ANSWER_TOKENS):
            if not isinstance(chunk, AIMessageChunk):
                continue
            if chunk.text:
                write(TokenDelta(chunk.text))
            merged = chunk if merged is None else merged + chunk
    except ProviderError as exc:
        failures = [*state.get("failures", []), f"{exc.kind}: {exc}"]
        if which + 1 < len(getters):  # the next model starts the exchange afresh
            log.warning("model %s failed, trying the next one: %s", name, exc)
            return {"model_index": which + 1, "failures": failures, "steps": 0, "retry": True,
                    "work": [RemoveMessage(id=REMOVE_ALL_MESSAGES)]}  # type: ignore[list-item]
        log.warning("model failed, keeping the deterministic answer: %s", exc)
        return {"fallback_reason": "; ".join(failures), "model": name, "prompt": ref,
                "agent_failed": True, "failures": failures, "retry": False}
    reply = AIMessage(content=merged.text if merged else "", tool_calls=merged.tool_calls if merged else [])
    usage = dict(merged.usage_metadata or {}) if merged else {}
    return {"work": [*opening, reply], "steps": steps + 1, "model": name, "prompt": ref,  # type: ignore[list-item]
            "usage": usage, "agent_failed": False, "retry": False}  # type: ignore[typeddict-item]


def document(state: AskState, deps: GraphDeps) -> AskState:
    """A whole-document request with a model: map over the file's parts, then reduce, with progress and Stop."""
    path = str(state.get("document"))
    getters = deps.models(state["question"])
    write = get_stream_writer()
    cancel = deps.cancel()
    name = None
    try:
        chunks = deps.document(path) if deps.document else []
        chat = getters[0]()
        name = chat.model_name

        def call(system: str, user: str) -> str:
            reply = chat.invoke([SystemMessage(openings._system(system, deps.system_prompt())), HumanMessage(user)],
                                cancel=cancel, max_tokens=ANSWER_TOKENS)
            return str(reply.text)

        result = documents.map_reduce(
            state["question"], path, chunks, call,
            progress=lambda done, total: write(Progress(done, total, f"Reading {path}")),
            cancelled=lambda: cancel is not None and cancel.is_set())
    except (ProviderError, DeskmateError) as exc:
        log.warning("whole-document answer failed, keeping the extract: %s", exc)
        return {"fallback_reason": str(exc), "model": name}
    return {"answer": result.text, "citations": citation_rows(result.citations), "mode": "llm", "grounded": True,
            "fallback_reason": None, "model": name, "prompt": _prompt_ref(state, prompts.load(documents.PROMPT).ref)}


def _pending(state: AskState, deps: GraphDeps, *, effects: bool) -> list[dict[str, Any]]:
    """The side effects (or reads) of the current step while none of them has run; [] once they have."""
    work = state.get("work", [])
    step = next((m for m in reversed(work) if isinstance(m, AIMessage)), None)
    side_effects = deps.side_effects
    calls = [c for c in (step.tool_calls if step is not None else []) if (c["name"] in side_effects) is effects]
    answered = {m.tool_call_id for m in work if isinstance(m, ToolMessage)}
    # A call left without a result must not send its kind round again: the step moves on either way.
    return [] if any(c.get("id") in answered for c in calls) else [dict(c) for c in calls]


def _run(calls: list[dict[str, Any]]) -> list[Send]:
    # One task per call: an interrupt in one re-runs that task alone, and each task resumes with its own answer.
    return [Send("tools", [{**call, "type": "tool_call"}]) for call in calls]


def after_agent(state: AskState, deps: GraphDeps) -> str | list[Send]:
    if state.get("retry"):
        return "agent"
    if state.get("agent_failed"):
        return "finish"
    last = state["work"][-1]
    wants_tools = isinstance(last, AIMessage) and bool(last.tool_calls)
    calls = (_pending(state, deps, effects=False) or _pending(state, deps, effects=True)) if wants_tools else []
    return _run(calls) if calls and state.get("steps", 0) < deps.max_steps else "ground"


def after_screen(state: AskState, deps: GraphDeps) -> str | list[Send]:
    """The step's side effects once its reads are in and screened (the turn's warnings now include theirs)."""
    calls = _pending(state, deps, effects=True)
    return _run(calls) if calls else "agent"


_MARKERS = re.compile(r"\s*\[\d{1,2}\]")
_FENCE_LINES = re.compile(r'^[ \t]*(?:"{3}|Text:)[ \t]*$\n?', re.M)


def _general(state: AskState, last: AnyMessage) -> AskState:
    """The model's own answer (not from the files): kept when usable, never dressed up with citations."""
    answer = last.text.strip() if isinstance(last, AIMessage) else ""
    instructions = prompts.load("general").system if state.get("route") == "general" else ""
    problem = unusable(answer, instructions)
    if problem:
        return {"fallback_reason": problem}
    answer = _FENCE_LINES.sub("", _MARKERS.sub("", answer)).strip()  # a small model may echo the fence lines
    if not answer:
        return {"fallback_reason": "the model's answer only repeated the selected text's quotes"}
    return {"answer": answer, "citations": [], "mode": "general", "grounded": True,
            "fallback_reason": None}


def ground(state: AskState, deps: GraphDeps) -> AskState:
    """Keep the model's final answer only if it is usable and its sources (or its tools' results) support it."""
    hits = openings.model_sources(state)  # numbered as the prompt numbered them
    work = state.get("work", [])
    last = work[-1] if work else AIMessage(content="")
    if state.get("route") == "general" or (state.get("route") == "action" and not state.get("uses_files")):
        return _general(state, last)
    results = tuple(str(m.content) for m in work if isinstance(m, ToolMessage))
    calls = [{"name": c["name"], "args": c["args"]} for m in work if isinstance(m, AIMessage) for c in m.tool_calls]
    answer = last.text.strip() if isinstance(last, AIMessage) else ""
    problem = None
    if isinstance(last, AIMessage) and last.tool_calls:
        problem = f"the model was still calling tools after {deps.max_steps} steps"
    problem = problem or unusable(answer, prompts.load("answer_from_sources").system)
    citations, unsupported = llm_citations(answer, hits, results, state["question"]) if not problem else ([], [])
    if not problem and verify(citations, {h.chunk_hash: h.text for h in hits}):
        problem = "a quoted span does not occur in its source"  # cannot happen by construction; checked anyway
    if not problem and unsupported:
        problem = f"the model's answer made claims its sources do not support: {unsupported[0]!r}"
    if not problem and not citations and not results:
        problem = "the model's answer cited none of the sources"
    if problem:
        # The deterministic draft (already in the state) stands; the reason travels with the answer.
        return {"fallback_reason": problem, "tool_calls": calls}
    cited = citation_rows(citations)
    if deps.cache is not None and state.get("model") and not calls and not state.get("warnings") \
            and state.get("route", "files") == "files":  # an action's answer depends on its selection
        deps.cache.store(state["question"], answer, cited, str(state["model"]),
                         _prompt_ref(state, prompts.load("answer_from_sources").ref))
    return {"answer": answer, "citations": cited, "mode": "llm", "grounded": True, "fallback_reason": None,
            "tool_calls": calls}


def screen_tools(state: AskState, deps: GraphDeps) -> AskState:
    """Fence the tool results just in that look like instructions; their warnings join the turn's."""
    screen = deps.screen
    fenced, found = screening.screen_results(state.get("work", []), screen) if screen else ([], [])
    warnings = state.get("warnings") or []
    for warning in found:
        warnings = screening.merge(warnings, warning["source"], warning["reasons"])
    _warn(found)
    return {"work": fenced, "warnings": warnings}  # type: ignore[typeddict-item]  # same ids: they replace


def finish(state: AskState, deps: GraphDeps) -> AskState:
    memory, screen = deps.memory, deps.screen
    fact = workflows.self_statement(state.get("question", "")) if memory is not None else None
    if fact and screen is not None and screen(fact).suspicious:
        fact = None  # a "fact" that reads as instructions would reach later prompts: not offered for keeping
    files = state.get("route", "files") == "files"
    if memory is not None and fact and files and state.get("intent") == "question" and deps.consent != "never":
        # A fact the user mentioned about themselves is kept only with their consent (the same approval path).
        if deps.consent == "always" or interrupt({"tool": "remember", "args": {"fact": fact}}) is True:
            memory.add(fact, source="extracted")
    question = state.get("question", "")
    if state.get("route") == "action":  # the thread remembers what the action worked on, in short
        selection = state.get("selection") or ""
        question = f"{question}: {selection[:300]}{' ...' if len(selection) > 300 else ''}"
    update: AskState = {"messages": [HumanMessage(question), AIMessage(state.get("answer", ""))],
                        "last_route": state.get("route", "files")}
    if files and state.get("hits"):
        update["last_hits"] = state["hits"][:SOURCES]
    return update

"""The ask graph's nodes and routing decisions: module-level functions of (state, deps), testable one by one.

Each node reads the checkpointed state (agents/state.py), writes the turn's events (agents/events.py) through
LangGraph's stream writer, and returns its update. ``GraphDeps`` holds what they are given; none builds a model.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    AnyMessage,
    HumanMessage,
    RemoveMessage,
    SystemMessage,
    ToolMessage,
)
from langchain_core.tools import BaseTool
from langgraph.config import get_stream_writer
from langgraph.graph.message import REMOVE_ALL_MESSAGES
from langgraph.types import Send, interrupt

from agents import prompts, workflows
from agents.cache import SemanticCache, SourcesExist
from agents.citations import verify
from agents.events import DraftAnswer, TokenDelta, Warning
from agents.grounding import llm_citations, unusable
from agents.guard import guards, screening
from agents.intent import IntentClassifier
from agents.providers.errors import ProviderError
from agents.routing import Models, no_models
from agents.state import AskState, citation_rows, hit_rows, hits_of
from agents.toolset import Policy, has_side_effects
from tools.errors import DeskmateError
from tools.index.search import SearchHit
from tools.memory import MemoryStore

log = logging.getLogger(__name__)

MAX_QUESTION_CHARS = 4000
SOURCES = 4
SOURCE_CHARS = 600  # per source: keeps a typical prompt near 700 tokens, a first token in ~1-2 s on 2 CPU cores
RETRIEVE_K = 8
ANSWER_TOKENS = 200
MAX_STEPS = 4  # model calls per turn: tool rounds are bounded
RECALL_MIN = 0.45  # a memory this close to the question goes into the model's prompt

Retrieve = Callable[[str, int], list[SearchHit]]


@dataclass(frozen=True, slots=True)
class GraphDeps:
    """The ask graph's parts; ``screen=None`` turns the injection guard off."""

    retrieve: Retrieve
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

    @property
    def side_effects(self) -> frozenset[str]:
        return frozenset(t.name for t in self.tools if has_side_effects(t))


def _sources_block(hits: list[SearchHit], flagged: frozenset[str] = frozenset()) -> str:
    parts = []
    for n, hit in enumerate(hits, 1):
        text = hit.text if len(hit.text) <= SOURCE_CHARS else hit.text[:SOURCE_CHARS] + " ..."
        parts.append(screening.source_block(n, hit, text, hit.chunk_hash in flagged))
    return "\n\n".join(parts)


def _warn(rows: screening.Warnings) -> None:
    write = get_stream_writer()
    for row in rows:
        write(Warning.of(row))


def check_input(state: AskState, deps: GraphDeps) -> AskState:
    question = state.get("question", "").strip()
    if not question:
        return {"answer": "Please ask a question.", "mode": "fallback", "fallback_reason": "empty question",
                "citations": [], "grounded": True}
    if len(question) > MAX_QUESTION_CHARS:
        question = question[:MAX_QUESTION_CHARS]
    return {"question": question, "answer": "", "fallback_reason": None, "model": None, "prompt": None, "usage": {},
            "work": [RemoveMessage(id=REMOVE_ALL_MESSAGES)],  # type: ignore[list-item]  # add_messages clears on it
            "steps": 0, "tool_calls": [], "model_index": 0, "failures": [], "retry": False, "agent_failed": False,
            "warnings": [], "flagged": [], "facts": []}


def classify(state: AskState, deps: GraphDeps) -> AskState:
    return {"intent": (deps.classifier or IntentClassifier()).classify(state["question"]).intent}


def _cached_model(question: str, deps: GraphDeps) -> str | None:
    getters = deps.models(question)
    try:
        return getters[0]().model_name if getters else None
    except ProviderError:
        return None


def cache_lookup(state: AskState, deps: GraphDeps) -> AskState:
    cache = deps.cache
    name = _cached_model(state["question"], deps) if cache is not None and state["intent"] == "question" else None
    if cache is None or name is None:
        return {"cache_hit": False}
    hit = cache.lookup(state["question"], name, prompts.load("answer_from_sources").ref, deps.sources_exist)
    if hit is None:
        return {"cache_hit": False}
    return {"cache_hit": True, "answer": hit.answer, "citations": hit.citations, "mode": "cache",
            "model": hit.model, "prompt": hit.prompt, "grounded": True, "fallback_reason": None, "usage": {}}


def retrieve(state: AskState, deps: GraphDeps) -> AskState:
    if state["intent"] not in ("question", "search", "summarize"):
        return {"hits": [], "retrieval_error": None}
    try:
        hits = deps.retrieve(state["question"], RETRIEVE_K)
    except DeskmateError as exc:  # a locked or damaged index: answer without documents, and say why
        return {"hits": [], "retrieval_error": str(exc)}
    screen, memory = deps.screen, deps.memory
    # The sources the model will read are screened; lower-ranked hits only ever reach the deterministic draft.
    warnings, flagged = screening.screen_hits(hits[:SOURCES], screen) if screen else ([], [])
    # What the user asked Deskmate to remember, when it bears on the question: screened each time, like a source
    # (a stored fact may predate the screen, or the user may have kept one that reads as instructions).
    asks = memory is not None and bool(hits) and state["intent"] == "question"  # only a model answer uses them
    recalled = memory.recall(state["question"], k=3, min_score=RECALL_MIN) if memory and asks else []
    facts, fact_warnings = screening.screen_facts(recalled, screen)
    for warning in fact_warnings:
        warnings = screening.merge(warnings, warning["source"], warning["reasons"])
    _warn(warnings)
    return {"hits": hit_rows(hits), "retrieval_error": None, "warnings": warnings, "flagged": flagged,
            "facts": facts}


def _workflow(state: AskState, hits: list[SearchHit], deps: GraphDeps) -> workflows.WorkflowAnswer:
    intent, question = state["intent"], state["question"]
    error = state.get("retrieval_error")
    if error:  # a locked or damaged index: "nothing found" would pass the failure off as an answer
        return workflows.WorkflowAnswer(f"Your files could not be searched: {error}", [], "extractive")
    if intent == "search":
        return workflows.file_list(question, hits)
    if intent == "summarize" and hits:
        path = hits[0].path
        return workflows.extractive_summary(path, [h for h in hits if h.path == path])
    if intent == "chat":
        return workflows.WorkflowAnswer("Hello! Ask me about your files.", [], "chat")
    if intent in ("remember", "recall", "forget"):
        return workflows.memory_answer(intent, question, deps.memory)
    if intent in ("calculate", "datetime"):
        return workflows.exact_answer(intent, question)
    return workflows.extractive_answer(question, hits, embed=deps.embed)


def draft(state: AskState, deps: GraphDeps) -> AskState:
    result = _workflow(state, hits_of(state), deps)
    get_stream_writer()(DraftAnswer(result.text, list(result.citations), result.workflow))
    rows = citation_rows(result.citations)
    return {"draft": {"text": result.text, "citations": rows, "workflow": result.workflow}, "answer": result.text,
            "citations": rows, "mode": "fallback", "grounded": True, "fallback_reason": state.get("retrieval_error")}


def needs_model(state: AskState, deps: GraphDeps) -> str:
    wants = state["intent"] == "question" and bool(state["hits"]) and bool(deps.models(state["question"]))
    return "agent" if wants else "finish"


def _opening(state: AskState) -> list[AnyMessage]:
    """The first step's messages: the instructions, the facts the user gave, the question with its sources."""
    template = prompts.load("answer_from_sources")
    system = template.system
    facts = state.get("facts") or []
    trusted = [f["text"] for f in facts if not f["flagged"]]
    if trusted:
        system += "\nThe user told you: " + " ".join(trusted)
    flagged = frozenset(state.get("flagged") or [])
    sources = "\n\n".join(filter(None, [_sources_block(hits_of(state, SOURCES), flagged),
                                        screening.fenced_facts(facts)]))
    return [SystemMessage(system), HumanMessage(template.user.format(sources=sources, question=state["question"]))]


def agent(state: AskState, deps: GraphDeps) -> AskState:
    """One model step: the question with its sources on the first, the tools' results after that."""
    getters = deps.models(state["question"])
    which = state.get("model_index", 0)
    template = prompts.load("answer_from_sources")
    steps = state.get("steps", 0)
    opening = _opening(state) if steps == 0 else []
    write = get_stream_writer()
    name = None
    try:
        chat = getters[which]()
        name = chat.model_name
        runnable = chat.bind_tools(deps.tools) if deps.tools else chat
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
        return {"fallback_reason": "; ".join(failures), "model": name, "prompt": template.ref,
                "agent_failed": True, "failures": failures, "retry": False}
    reply = AIMessage(content=merged.text if merged else "", tool_calls=merged.tool_calls if merged else [])
    usage = dict(merged.usage_metadata or {}) if merged else {}
    ref = template.ref + (f"+{prompts.load('untrusted').ref}" if state.get("warnings") else "")
    return {"work": [*opening, reply], "steps": steps + 1, "model": name, "prompt": ref,
            "usage": usage, "agent_failed": False, "retry": False}  # type: ignore[typeddict-item]


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


def ground(state: AskState, deps: GraphDeps) -> AskState:
    """Keep the model's final answer only if it is usable and its sources (or its tools' results) support it."""
    hits = hits_of(state, SOURCES)
    work = state.get("work", [])
    last = work[-1] if work else AIMessage(content="")
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
    if deps.cache is not None and state.get("model") and not calls and not state.get("warnings"):
        deps.cache.store(state["question"], answer, cited, str(state["model"]), str(state["prompt"]))
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
    if memory is not None and fact and state.get("intent") == "question" and deps.consent != "never":
        # A fact the user mentioned about themselves is kept only with their consent (the same approval path).
        if deps.consent == "always" or interrupt({"tool": "remember", "args": {"fact": fact}}) is True:
            memory.add(fact, source="extracted")
    return {"messages": [HumanMessage(state.get("question", "")), AIMessage(state.get("answer", ""))]}

"""The ask graph: input check -> intent -> retrieval -> deterministic draft -> model answer (when one works) -> finish.

``build_graph`` receives its parts (retrieval, a model getter, a checkpointer); no node constructs a model. The
deterministic draft is computed for every turn before the model is tried, so a model that is missing, fails or
times out still leaves a cited answer, and the answer says which mode produced it and why.

Retrieved chunks, remembered facts and tool results pass the injection guard (``screen``, agents/guard/screening.py):
what looks like instructions to the model reaches it fenced as untrusted data, and the turn's ``warnings`` make side
effects ask.

A tool step runs each call as its own task (a LangGraph ``Send``): the reads first, then, once their results are
screened, the side effects. So a read flagged in a step makes that same step's side effects ask, and an approval's
interrupt re-runs only the call that asked: the calls already done keep their results and are not run again.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import asdict
from typing import Annotated, Any, TypedDict

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
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import REMOVE_ALL_MESSAGES, add_messages
from langgraph.prebuilt import ToolNode
from langgraph.types import Checkpointer, Send, interrupt

from agents import prompts, workflows
from agents.cache import SemanticCache, SourcesExist
from agents.citations import verify
from agents.grounding import llm_citations, unusable
from agents.guard import guards, screening
from agents.intent import IntentClassifier
from agents.observability.telemetry import traced
from agents.providers.errors import ProviderError
from agents.routing import ModelGetter
from agents.toolset import has_side_effects
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


class AskState(TypedDict, total=False):
    question: str
    intent: str
    hits: list[dict[str, Any]]
    retrieval_error: str | None
    draft: dict[str, Any]
    answer: str
    citations: list[dict[str, Any]]
    mode: str  # "llm", "fallback" (a deterministic answer) or "cache"
    cache_hit: bool
    work: Annotated[list[AnyMessage], add_messages]  # this turn's model <-> tools exchange
    steps: int
    agent_failed: bool
    tool_calls: list[dict[str, Any]]
    model_index: int  # which of the routed models this turn is on
    failures: list[str]  # the models that failed this turn, and why
    retry: bool
    fallback_reason: str | None
    model: str | None
    prompt: str | None
    grounded: bool
    usage: dict[str, int]
    warnings: list[dict[str, Any]]  # {"source": path or tool, "reasons": [...]} for text that addresses the model
    flagged: list[str]  # content hashes of retrieved chunks fenced as untrusted in the prompt
    facts: list[dict[str, Any]]  # remembered facts recalled for this question: {"id", "text", "flagged"}
    messages: Annotated[list[AnyMessage], add_messages]


def _hit(data: dict[str, Any]) -> SearchHit:
    return SearchHit(**data)


def _sources_block(hits: list[SearchHit], flagged: frozenset[str] = frozenset()) -> str:
    parts = []
    for n, hit in enumerate(hits, 1):
        text = hit.text if len(hit.text) <= SOURCE_CHARS else hit.text[:SOURCE_CHARS] + " ..."
        parts.append(screening.source_block(n, hit, text, hit.chunk_hash in flagged))
    return "\n\n".join(parts)


def _warn(warnings: list[dict[str, Any]]) -> None:
    write = get_stream_writer()
    for warning in warnings:
        write({"warning": warning})


def build_graph(
    retrieve: Retrieve,
    model: ModelGetter | None,
    checkpointer: Checkpointer = None,
    classifier: IntentClassifier | None = None,
    cancel: Callable[[], threading.Event | None] = lambda: None,
    embed: workflows.Embed | None = None,
    memory: MemoryStore | None = None,
    cache: SemanticCache | None = None,
    sources_exist: SourcesExist = lambda hashes: False,
    tools: Sequence[BaseTool] = (),
    max_steps: int = MAX_STEPS,
    router: Callable[[str], list[ModelGetter]] | None = None,
    consent: str = "ask",
    screen: screening.Screen | None = guards.scan,
) -> Any:
    """Compile the ask graph from its parts (see the module docstring); ``screen=None`` turns the guard off."""
    intents = classifier or IntentClassifier()

    def check_input(state: AskState) -> AskState:
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

    def classify(state: AskState) -> AskState:
        return {"intent": intents.classify(state["question"]).intent}

    def candidates(question: str) -> list[ModelGetter]:
        if router is not None:
            return router(question)
        return [model] if model is not None else []

    def cached_model(question: str) -> str | None:
        getters = candidates(question)
        try:
            return getters[0]().model_name if getters else None
        except ProviderError:
            return None

    def cache_lookup(state: AskState) -> AskState:
        name = cached_model(state["question"]) if cache is not None and state["intent"] == "question" else None
        if cache is None or name is None:
            return {"cache_hit": False}
        hit = cache.lookup(state["question"], name, prompts.load("answer_from_sources").ref, sources_exist)
        if hit is None:
            return {"cache_hit": False}
        return {"cache_hit": True, "answer": hit.answer, "citations": hit.citations, "mode": "cache",
                "model": hit.model, "prompt": hit.prompt, "grounded": True, "fallback_reason": None, "usage": {}}

    def retrieve_node(state: AskState) -> AskState:
        if state["intent"] not in ("question", "search", "summarize"):
            return {"hits": [], "retrieval_error": None}
        try:
            hits = retrieve(state["question"], RETRIEVE_K)
        except DeskmateError as exc:  # a locked or damaged index: answer without documents, and say why
            return {"hits": [], "retrieval_error": str(exc)}
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
        return {"hits": [asdict(h) for h in hits], "retrieval_error": None, "warnings": warnings, "flagged": flagged,
                "facts": facts}

    def draft(state: AskState) -> AskState:
        hits = [_hit(h) for h in state["hits"]]
        intent, question = state["intent"], state["question"]
        error = state.get("retrieval_error")
        if error:  # a locked or damaged index: "nothing found" would pass the failure off as an answer
            result = workflows.WorkflowAnswer(f"Your files could not be searched: {error}", [], "extractive")
        elif intent == "search":
            result = workflows.file_list(question, hits)
        elif intent == "summarize" and hits:
            path = hits[0].path
            result = workflows.extractive_summary(path, [h for h in hits if h.path == path])
        elif intent == "chat":
            result = workflows.WorkflowAnswer("Hello! Ask me about your files.", [], "chat")
        elif intent in ("remember", "recall", "forget"):
            result = workflows.memory_answer(intent, question, memory)
        elif intent in ("calculate", "datetime"):
            result = workflows.exact_answer(intent, question)
        else:
            result = workflows.extractive_answer(question, hits, embed=embed)
        payload: dict[str, Any] = {"text": result.text, "citations": [c.as_dict() for c in result.citations],
                                   "workflow": result.workflow}
        get_stream_writer()({"draft": payload})
        return {"draft": payload, "answer": result.text, "citations": payload["citations"], "mode": "fallback",
                "grounded": True, "fallback_reason": state.get("retrieval_error")}

    def needs_model(state: AskState) -> str:
        wants = state["intent"] == "question" and bool(state["hits"]) and bool(candidates(state["question"]))
        return "agent" if wants else "finish"

    def agent(state: AskState) -> AskState:
        """One model step: the question with its sources on the first, the tools' results after that."""
        getters = candidates(state["question"])
        which = state.get("model_index", 0)
        hits = [_hit(h) for h in state["hits"]][:SOURCES]
        template = prompts.load("answer_from_sources")
        steps = state.get("steps", 0)
        opening: list[AnyMessage] = []
        if steps == 0:
            system = template.system
            facts = state.get("facts") or []
            trusted = [f["text"] for f in facts if not f["flagged"]]
            if trusted:
                system += "\nThe user told you: " + " ".join(trusted)
            flagged = frozenset(state.get("flagged") or [])
            sources = "\n\n".join(filter(None, [_sources_block(hits, flagged), screening.fenced_facts(facts)]))
            user = template.user.format(sources=sources, question=state["question"])
            opening = [SystemMessage(system), HumanMessage(user)]
        write = get_stream_writer()
        name = None
        try:
            chat = getters[which]()
            name = chat.model_name
            runnable = chat.bind_tools(tools) if tools else chat
            merged: AIMessageChunk | None = None
            for chunk in runnable.stream([*state.get("work", []), *opening], cancel=cancel(),
                                         max_tokens=ANSWER_TOKENS):
                if not isinstance(chunk, AIMessageChunk):
                    continue
                if chunk.text:
                    write({"token": chunk.text})
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

    def after_agent(state: AskState) -> str | list[Send]:
        if state.get("retry"):
            return "agent"
        if state.get("agent_failed"):
            return "finish"
        last = state["work"][-1]
        wants_tools = isinstance(last, AIMessage) and bool(last.tool_calls)
        calls = (_pending(state, effects=False) or _pending(state, effects=True)) if wants_tools else []
        return _run(calls) if calls and state.get("steps", 0) < max_steps else "ground"

    def after_screen(state: AskState) -> str | list[Send]:
        """The step's side effects once its reads are in and screened (the turn's warnings now include theirs)."""
        calls = _pending(state, effects=True)
        return _run(calls) if calls else "agent"

    def _pending(state: AskState, *, effects: bool) -> list[dict[str, Any]]:
        """The side effects (or reads) of the current step while none of them has run; [] once they have."""
        work = state.get("work", [])
        step = next((m for m in reversed(work) if isinstance(m, AIMessage)), None)
        calls = [c for c in (step.tool_calls if step is not None else []) if (c["name"] in side_effects) is effects]
        answered = {m.tool_call_id for m in work if isinstance(m, ToolMessage)}
        # A call left without a result must not send its kind round again: the step moves on either way.
        return [] if any(c.get("id") in answered for c in calls) else [dict(c) for c in calls]

    def _run(calls: list[dict[str, Any]]) -> list[Send]:
        # One task per call: an interrupt in one re-runs that task alone, and each task resumes with its own answer.
        return [Send("tools", [{**call, "type": "tool_call"}]) for call in calls]

    def ground(state: AskState) -> AskState:
        """Keep the model's final answer only if it is usable and its sources (or its tools' results) support it."""
        hits = [_hit(h) for h in state["hits"]][:SOURCES]
        work = state.get("work", [])
        last = work[-1] if work else AIMessage(content="")
        results = tuple(str(m.content) for m in work if isinstance(m, ToolMessage))
        calls = [{"name": c["name"], "args": c["args"]} for m in work if isinstance(m, AIMessage) for c in m.tool_calls]
        answer = last.text.strip() if isinstance(last, AIMessage) else ""
        problem = None
        if isinstance(last, AIMessage) and last.tool_calls:
            problem = f"the model was still calling tools after {max_steps} steps"
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
        cited = [c.as_dict() for c in citations]
        if cache is not None and state.get("model") and not calls and not state.get("warnings"):
            cache.store(state["question"], answer, cited, str(state["model"]), str(state["prompt"]))
        return {"answer": answer, "citations": cited, "mode": "llm", "grounded": True, "fallback_reason": None,
                "tool_calls": calls}

    def screen_tools(state: AskState) -> AskState:
        """Fence the tool results just in that look like instructions; their warnings join the turn's."""
        fenced, found = screening.screen_results(state.get("work", []), screen) if screen else ([], [])
        warnings = state.get("warnings") or []
        for warning in found:
            warnings = screening.merge(warnings, warning["source"], warning["reasons"])
        _warn(found)
        return {"work": fenced, "warnings": warnings}  # type: ignore[typeddict-item]  # same ids: they replace

    def finish(state: AskState) -> AskState:
        fact = workflows.self_statement(state.get("question", "")) if memory is not None else None
        if fact and screen is not None and screen(fact).suspicious:
            fact = None  # a "fact" that reads as instructions would reach later prompts: not offered for keeping
        if memory is not None and fact and state.get("intent") == "question" and consent != "never":
            # A fact the user mentioned about themselves is kept only with their consent (the same approval path).
            if consent == "always" or interrupt({"tool": "remember", "args": {"fact": fact}}) is True:
                memory.add(fact, source="extracted")
        return {"messages": [HumanMessage(state.get("question", "")), AIMessage(state.get("answer", ""))]}

    graph = StateGraph(AskState)
    def add(name: str, fn: Callable[[AskState], AskState]) -> None:
        graph.add_node(name, traced(name, fn))  # type: ignore[call-overload]  # a plain callable; stubs want a Protocol

    for name, fn in (("check_input", check_input), ("classify", classify), ("cache", cache_lookup),
                     ("retrieve", retrieve_node),
                     ("draft", draft), ("agent", agent), ("screen", screen_tools), ("ground", ground),
                     ("finish", finish)):
        add(name, fn)
    side_effects = frozenset(t.name for t in tools if has_side_effects(t))
    graph.add_node("tools", ToolNode(tools, messages_key="work", handle_tool_errors=True))
    graph.add_edge(START, "check_input")
    graph.add_conditional_edges("check_input", lambda s: "finish" if s.get("answer") else "classify",
                                ["classify", "finish"])
    graph.add_edge("classify", "cache")
    graph.add_conditional_edges("cache", lambda s: "finish" if s.get("cache_hit") else "retrieve",
                                ["retrieve", "finish"])
    graph.add_edge("retrieve", "draft")
    graph.add_conditional_edges("draft", needs_model, ["agent", "finish"])
    graph.add_conditional_edges("agent", after_agent, ["agent", "tools", "ground", "finish"])
    graph.add_edge("tools", "screen")
    graph.add_conditional_edges("screen", after_screen, ["tools", "agent"])
    graph.add_edge("ground", "finish")
    graph.add_edge("finish", END)
    return graph.compile(checkpointer=checkpointer)

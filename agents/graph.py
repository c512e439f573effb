"""The ask graph: input check -> intent -> retrieval -> deterministic draft -> model answer (when one works) -> finish.

``build_graph`` receives its parts (retrieval, a model getter, a checkpointer); no node constructs a model. The
deterministic draft is computed for every turn before the model is tried, so a model that is missing, fails or
times out still leaves a cited answer, and the answer says which mode produced it and why.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any, TypedDict

from langchain_core.messages import AIMessage, AnyMessage, HumanMessage, SystemMessage
from langgraph.config import get_stream_writer
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import add_messages
from langgraph.types import Checkpointer

from agents import prompts, workflows
from agents.cache import SemanticCache, SourcesExist
from agents.grounding import llm_citations, unusable
from agents.intent import IntentClassifier
from agents.providers.errors import ProviderError
from agents.providers.health import GuardedChatModel
from agents.telemetry import traced
from tools.errors import DeskmateError
from tools.index.search import SearchHit
from tools.memory import MemoryStore

log = logging.getLogger(__name__)

MAX_QUESTION_CHARS = 4000
SOURCES = 4
SOURCE_CHARS = 600  # per source: keeps a typical prompt near 700 tokens, a first token in ~1-2 s on 2 CPU cores
RETRIEVE_K = 8
ANSWER_TOKENS = 200
RECALL_MIN = 0.45  # a memory this close to the question goes into the model's prompt

Retrieve = Callable[[str, int], list[SearchHit]]
ModelGetter = Callable[[], GuardedChatModel]


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
    fallback_reason: str | None
    model: str | None
    prompt: str | None
    grounded: bool
    usage: dict[str, int]
    messages: Annotated[list[AnyMessage], add_messages]


def _hit(data: dict[str, Any]) -> SearchHit:
    return SearchHit(**data)


def _sources_block(hits: list[SearchHit]) -> str:
    parts = []
    for n, hit in enumerate(hits, 1):
        text = hit.text if len(hit.text) <= SOURCE_CHARS else hit.text[:SOURCE_CHARS] + " ..."
        parts.append(f"[{n}] ({Path(hit.path).name}{f' p.{hit.page}' if hit.page else ''})\n{text}")
    return "\n\n".join(parts)


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
) -> Any:
    """Compile the ask graph from its parts (see the module docstring for the flow)."""
    intents = classifier or IntentClassifier()

    def check_input(state: AskState) -> AskState:
        question = state.get("question", "").strip()
        if not question:
            return {"answer": "Please ask a question.", "mode": "fallback", "fallback_reason": "empty question",
                    "citations": [], "grounded": True}
        if len(question) > MAX_QUESTION_CHARS:
            question = question[:MAX_QUESTION_CHARS]
        return {"question": question, "answer": "", "fallback_reason": None, "model": None, "prompt": None, "usage": {}}

    def classify(state: AskState) -> AskState:
        return {"intent": intents.classify(state["question"]).intent}

    def cached_model() -> str | None:
        try:
            return model().model_name if model is not None else None
        except ProviderError:
            return None

    def cache_lookup(state: AskState) -> AskState:
        name = cached_model() if cache is not None and state["intent"] == "question" else None
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
        return {"hits": [asdict(h) for h in hits], "retrieval_error": None}

    def draft(state: AskState) -> AskState:
        hits = [_hit(h) for h in state["hits"]]
        intent, question = state["intent"], state["question"]
        if intent == "search":
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
        wants = state["intent"] == "question" and bool(state["hits"]) and model is not None
        return "generate" if wants else "finish"

    def generate(state: AskState) -> AskState:
        assert model is not None
        hits = [_hit(h) for h in state["hits"]][:SOURCES]
        template = prompts.load("answer_from_sources")
        system = template.system
        remembered = memory.recall(state["question"], k=3, min_score=RECALL_MIN) if memory else []
        if remembered:  # what the user asked Deskmate to remember, when it bears on the question
            system += "\nThe user told you: " + " ".join(r.memory.text for r in remembered)
        messages = [SystemMessage(system),
                    HumanMessage(template.user.format(sources=_sources_block(hits), question=state["question"]))]
        write = get_stream_writer()
        pieces: list[str] = []
        name = None
        try:
            chat = model()
            name = chat.model_name
            usage: dict[str, int] = {}
            for chunk in chat.stream(messages, cancel=cancel(), max_tokens=ANSWER_TOKENS):
                text = chunk.text
                if text:
                    pieces.append(text)
                    write({"token": text})
                if getattr(chunk, "usage_metadata", None):
                    usage = dict(chunk.usage_metadata)  # type: ignore[arg-type]
        except ProviderError as exc:
            log.warning("model failed, keeping the deterministic answer: %s", exc)
            return {"fallback_reason": f"{exc.kind}: {exc}", "model": name, "prompt": template.ref}
        answer = "".join(pieces).strip()
        problem = unusable(answer, template.system)
        citations, unsupported = llm_citations(answer, hits) if not problem else ([], [])
        if not problem and unsupported:
            problem = f"the model's answer made claims its sources do not support: {unsupported[0]!r}"
        if not problem and not citations:
            problem = "the model's answer cited none of the sources"
        if problem:
            # The deterministic draft (already in the state) stands; the reason travels with the answer.
            return {"fallback_reason": problem, "model": name, "prompt": template.ref, "usage": usage}
        cited = [c.as_dict() for c in citations]
        if cache is not None and name is not None:
            cache.store(state["question"], answer, cited, name, template.ref)
        return {"answer": answer, "citations": cited, "mode": "llm", "model": name,
                "prompt": template.ref, "grounded": True, "usage": usage, "fallback_reason": None}

    def finish(state: AskState) -> AskState:
        return {"messages": [HumanMessage(state.get("question", "")), AIMessage(state.get("answer", ""))]}

    graph = StateGraph(AskState)
    def add(name: str, fn: Callable[[AskState], AskState]) -> None:
        graph.add_node(name, traced(name, fn))  # type: ignore[call-overload]  # a plain callable; stubs want a Protocol

    for name, fn in (("check_input", check_input), ("classify", classify), ("cache", cache_lookup),
                     ("retrieve", retrieve_node),
                     ("draft", draft), ("generate", generate), ("finish", finish)):
        add(name, fn)
    graph.add_edge(START, "check_input")
    graph.add_conditional_edges("check_input", lambda s: "finish" if s.get("answer") else "classify",
                                ["classify", "finish"])
    graph.add_edge("classify", "cache")
    graph.add_conditional_edges("cache", lambda s: "finish" if s.get("cache_hit") else "retrieve",
                                ["retrieve", "finish"])
    graph.add_edge("retrieve", "draft")
    graph.add_conditional_edges("draft", needs_model, ["generate", "finish"])
    graph.add_edge("generate", "finish")
    graph.add_edge("finish", END)
    return graph.compile(checkpointer=checkpointer)

"""The agent session's composition root: index, models, memory, cache, tools and checkpointer in one ask graph."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from agents.cache import SemanticCache
from agents.conversations.checkpoints import open_checkpointer
from agents.conversations.threads import ThreadStore
from agents.graph import GraphDeps, build_graph
from agents.observability.traces import TraceStore
from agents.presets import PresetShelf
from agents.providers.registry import ModelRegistry
from agents.routing import ModelRouter, no_models
from agents.runner import Runner
from agents.toolset import ToolContext, build_tools
from app.settings import AppSettings, Paths
from app.wiring.index import open_index
from app.wiring.models import open_models
from app.wiring.traces import session_traces, trace_recorder
from tools.index import documents, inventory
from tools.index.knowledge import KnowledgeIndex
from tools.index.scope import Scope
from tools.index.search import SearchFilters, SearchHit, search
from tools.memory import MemoryStore


@dataclasses.dataclass(frozen=True, slots=True)
class Session:
    """Everything one open agent holds: the runner and the stores around it (the desktop app uses them all)."""

    runner: Runner
    threads: ThreadStore
    index: KnowledgeIndex
    registry: ModelRegistry
    memory: MemoryStore
    traces: TraceStore | None = None  # None when trust.traces is off
    # What the user should hear about (a damaged thread store set aside, a thread set aside); shown, then cleared.
    notices: list[str] = dataclasses.field(default_factory=list)


@contextmanager
def open_session(settings: AppSettings, paths: Paths, model_name: str | None = None,
                 registry: ModelRegistry | None = None, *, no_model: bool = False) -> Iterator[Session]:
    """The agent's composition root: index, models, memory, cache, tools and checkpointer wired into the ask graph.

    ``no_model`` leaves every model out: each answer is the deterministic one (``eval answers --no-model``).
    """
    index = open_index(settings, paths)
    registry = registry or open_models(settings, paths)
    name = model_name or settings.models.default
    # --model pins one model; otherwise simple requests go to the default first, hard ones to models.large first.
    router = None if no_model else ModelRouter(registry, name, None if model_name else settings.models.large,
                                               () if model_name else settings.models.fallbacks)
    notices: list[str] = []
    checkpointer = open_checkpointer(paths.data_dir / "threads.sqlite3", notices)
    memory = MemoryStore(paths.data_dir / "memory", index.embedder)
    cache = SemanticCache(paths.data_dir / "cache.sqlite3", index.embedder.embed)
    # One event for the turn: the runner clears and sets it, the graph's model call watches it between tokens.
    cancel = threading.Event()

    def retrieve(question: str, k: int, filters: SearchFilters | None = None) -> list[SearchHit]:
        return search(index, question, k=k, filters=filters)

    def count(question: str, scope: Scope | None) -> inventory.InventoryAnswer | None:
        return inventory.answer(question, inventory.indexed_files(index), scope=scope, now=datetime.now())

    # The user's presets are read again when their files change (the Settings page writes them while the app runs).
    presets = PresetShelf(paths.config_dir / "prompts")

    # The policies dict is shared, not copied: "Always allow" chosen in the desktop app applies from the next call.
    tools = build_tools(ToolContext(search=retrieve, index=index, memory=memory, notes_dir=paths.data_dir / "notes",
                                    policies=settings.agent.approvals, audit_log=paths.data_dir / "audit.jsonl"))
    graph = build_graph(GraphDeps(retrieve, router.getters if router else no_models, tools=tools,
                                  consent=settings.agent.approvals.get("remember", "ask"),
                                  max_steps=settings.agent.max_steps,
                                  cancel=lambda: cancel,
                                  embed=index.embedder.embed, memory=memory, cache=cache,
                                  sources_exist=index.has_chunks,
                                  system_prompt=lambda: settings.agent.system_prompt, presets=presets.current,
                                  inventory=count, known_paths=lambda: documents.indexed_paths(index),
                                  document=lambda path: documents.chunks_of(index, path)), checkpointer)
    threads = ThreadStore(checkpointer, notices)
    traces = session_traces(settings, paths, registry.known_secrets)
    runner = Runner(graph, cancel=cancel, on_turn=threads.touch,
                    recorder=trace_recorder(traces, registry) if traces else None)
    try:
        yield Session(runner, threads, index, registry, memory, traces, notices)
    finally:
        if traces is not None:
            traces.close()
        registry.close()  # local models run apart end with the session
        checkpointer.conn.close()
        cache.close()
        index.close()

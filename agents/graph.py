"""The ask graph: input check, intent and route, follow-up made standalone, retrieval, draft, model, finish.

The route (agents/route.py) says which way a turn goes: the user's files, the model alone ("general", never cited),
an exact computation, the memory, the index's catalogue, a whole document (map-reduce over its parts), or an action on
selected text (agents/presets.py). Each model call gets the thread's earlier turns within a token budget
(agents/openings.py).

``build_graph`` receives its parts (``GraphDeps``: retrieval, the models to try, a checkpointer); no node constructs
a model. The nodes live in agents/nodes.py, the state in agents/state.py. The deterministic draft is computed for every
turn before the model is tried, so a model that is missing, fails or times out still leaves a cited answer, and the
answer says which mode produced it and why.

Retrieved chunks, remembered facts and tool results pass the injection guard (``screen``, agents/guard/screening.py):
what looks like instructions to the model reaches it fenced as untrusted data, and the turn's ``warnings`` make side
effects ask.

A tool step runs each call as its own task (a LangGraph ``Send``): the reads first, then, once their results are
screened, the side effects. So a read flagged in a step makes that same step's side effects ask, and an approval's
interrupt re-runs only the call that asked: the calls already done keep their results and are not run again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import TypeVar

from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.prebuilt import ToolNode
from langgraph.types import Checkpointer

from agents import nodes
from agents.intent import IntentClassifier
from agents.nodes import GraphDeps, Retrieve
from agents.observability.telemetry import traced
from agents.state import AskState

__all__ = ["AskGraph", "GraphDeps", "Retrieve", "build_graph"]

AskGraph = CompiledStateGraph[AskState, None, AskState, AskState]
R = TypeVar("R")

_NODES: tuple[tuple[str, Callable[[AskState, GraphDeps], AskState]], ...] = (
    ("check_input", nodes.check_input), ("classify", nodes.classify), ("followup", nodes.followup),
    ("cache", nodes.cache_lookup), ("retrieve", nodes.retrieve), ("draft", nodes.draft), ("agent", nodes.agent),
    ("document", nodes.document), ("screen", nodes.screen_tools), ("ground", nodes.ground),
    ("finish", nodes.finish),
)


def build_graph(deps: GraphDeps, checkpointer: Checkpointer = None) -> AskGraph:
    """Compile the ask graph from its parts (see the module docstring)."""
    if deps.classifier is None:  # one classifier for the graph's life, not one per turn
        deps = replace(deps, classifier=IntentClassifier())

    def bound(fn: Callable[[AskState, GraphDeps], R]) -> Callable[[AskState], R]:
        return lambda state: fn(state, deps)

    graph = StateGraph(AskState)
    for name, fn in _NODES:
        graph.add_node(name, traced(name, bound(fn)))  # type: ignore[call-overload]  # stubs want a Protocol
    graph.add_node("tools", ToolNode(deps.tools, messages_key="work", handle_tool_errors=True))
    graph.add_edge(START, "check_input")
    graph.add_conditional_edges("check_input", lambda s: "finish" if s.get("answer") else "classify",
                                ["classify", "finish"])
    graph.add_edge("classify", "followup")
    graph.add_edge("followup", "cache")
    graph.add_conditional_edges("cache", lambda s: "finish" if s.get("cache_hit") else "retrieve",
                                ["retrieve", "finish"])
    graph.add_edge("retrieve", "draft")
    graph.add_conditional_edges("draft", bound(nodes.needs_model), ["agent", "document", "finish"])
    graph.add_edge("document", "finish")
    graph.add_conditional_edges("agent", bound(nodes.after_agent), ["agent", "tools", "ground", "finish"])
    graph.add_edge("tools", "screen")
    graph.add_conditional_edges("screen", bound(nodes.after_screen), ["tools", "agent"])
    graph.add_edge("ground", "finish")
    graph.add_edge("finish", END)
    return graph.compile(checkpointer=checkpointer)

"""The model's file tools keep to the conversation's scope, which they read from the graph state (real index)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import AIMessage
from langchain_core.tools import BaseTool
from langgraph.graph import START, StateGraph
from langgraph.prebuilt import ToolNode

from agents.state import AskState
from agents.toolset import ToolContext, build_tools, scope_of
from tools.errors import ToolInputError
from tools.index.scope import Scope
from tools.index.search import SearchFilters, SearchHit, search


@pytest.fixture
def tree(tmp_path: Path, make_index, fake_embedder):  # type: ignore[no-untyped-def]
    root = tmp_path / "docs"
    for folder in ("Projects", "Projects-old", "Private"):
        (root / folder).mkdir(parents=True)
    (root / "Projects" / "plan.md").write_text("# Plan\n\nkingfisher launch plan\n", encoding="utf-8")
    (root / "Projects-old" / "old.md").write_text("# Old\n\nkingfisher old plan\n", encoding="utf-8")
    (root / "Private" / "diary.md").write_text("# Diary\n\nkingfisher secret diary\n", encoding="utf-8")
    (root / "Projects" / "alias.md").symlink_to(root / "Private" / "diary.md")  # a link into the same root
    index = make_index(fake_embedder)
    index.add_root(root)
    index.sync()
    return index, root.resolve()


def _tools(index, search_fn: Any = None) -> dict[str, BaseTool]:  # type: ignore[no-untyped-def]
    def plain(query: str, k: int) -> list[SearchHit]:
        return search(index, query, k=k, mode="fts")

    return {t.name: t for t in build_tools(ToolContext(search=search_fn or plain, index=index))}


def _state(root: Path, key: str = "scope") -> dict[str, Any]:
    return {key: Scope(folders=(str(root / "Projects"),)).as_dict()}


def _names(text: str) -> set[str]:
    return {os.path.basename(line.split(":")[0].split(" p.")[0]) for line in text.split("\n\n") if line}


def test_search_keeps_to_the_scope_and_without_one_sees_everything(tree) -> None:  # type: ignore[no-untyped-def]
    index, root = tree
    tools = _tools(index)
    scoped = tools["search_files"].invoke({"query": "kingfisher", "k": 10, "state": _state(root)})
    assert _names(scoped) == {"plan.md", "alias.md"}  # not Projects-old/, not Private/
    everything = tools["search_files"].invoke({"query": "kingfisher", "k": 10, "state": {}})
    assert _names(everything) == {"plan.md", "old.md", "diary.md", "alias.md"}


def test_a_search_that_takes_filters_is_given_the_scope(tree) -> None:  # type: ignore[no-untyped-def]
    index, root = tree
    given: list[SearchFilters | None] = []

    def retrieve(query: str, k: int, filters: SearchFilters | None = None) -> list[SearchHit]:
        given.append(filters)
        return search(index, query, k=k, mode="fts", filters=filters)

    text = _tools(index, retrieve)["search_files"].invoke({"query": "kingfisher", "state": _state(root, "turn_scope")})
    assert given == [Scope(folders=(str(root / "Projects"),)).filters()] and "Private" not in text


def test_without_an_index_the_results_are_filtered() -> None:
    from tests.unit.agents.helpers import DOCS, retrieve

    tools = {t.name: t for t in build_tools(ToolContext(search=retrieve))}
    text = tools["search_files"].invoke({"query": "fee", "state": {"scope": {"folders": ["/elsewhere"]}}})
    assert text == "no matching passages"
    assert DOCS[0].path in tools["search_files"].invoke({"query": "fee", "state": {"scope": None}})


def test_read_file_refuses_a_file_outside_the_scope_and_says_why(tree) -> None:  # type: ignore[no-untyped-def]
    index, root = tree
    tools = _tools(index)
    state = _state(root)
    assert "launch plan" in tools["read_file"].invoke({"path": str(root / "Projects" / "plan.md"), "state": state})
    assert "secret diary" in tools["read_file"].invoke({"path": str(root / "Projects" / "alias.md"), "state": state})
    for outside in (root / "Private" / "diary.md", root / "Projects-old" / "old.md",
                    root / "Projects" / ".." / "Private" / "diary.md"):
        with pytest.raises(ToolInputError, match="outside this conversation's scope|contains '..'"):
            tools["read_file"].invoke({"path": str(outside), "state": state})
    with pytest.raises(ToolInputError, match=r"outside this conversation's scope \(folder: Projects\)"):
        tools["read_file"].invoke({"path": "Private/diary.md", "state": state})  # relative: read against the roots
    assert "secret diary" in tools["read_file"].invoke({"path": str(root / "Private" / "diary.md"), "state": {}})


def test_summaries_and_recent_files_keep_to_the_scope(tree) -> None:  # type: ignore[no-untyped-def]
    index, root = tree
    tools = _tools(index)
    state = _state(root)
    recent = tools["list_recent_files"].invoke({"state": state}).splitlines()
    assert {os.path.basename(p) for p in recent} == {"plan.md", "alias.md"}
    with pytest.raises(ToolInputError, match="outside this conversation's scope"):
        tools["summarize_file"].invoke({"path": str(root / "Private" / "diary.md"), "state": state})
    assert "diary" not in tools["list_recent_files"].invoke({"state": {"scope": {"types": ["pdf"]}}})


def test_a_malformed_scope_in_the_state_is_refused_not_ignored(tree) -> None:  # type: ignore[no-untyped-def]
    index, root = tree
    with pytest.raises(ToolInputError, match="folders must be a list"):
        _tools(index)["search_files"].invoke({"query": "kingfisher", "state": {"scope": {"folders": "/"}}})
    assert scope_of({"scope": {"folders": ["/a"]}, "turn_scope": None}) == Scope()  # the turn's scope wins


def test_the_tool_node_passes_the_graph_state_to_the_tools(tree) -> None:  # type: ignore[no-untyped-def]
    index, root = tree
    graph = StateGraph(AskState)
    graph.add_node("tools", ToolNode(list(_tools(index).values()), messages_key="work", handle_tool_errors=True))
    graph.add_edge(START, "tools")
    step = AIMessage("", tool_calls=[
        {"name": "read_file", "args": {"path": str(root / "Private" / "diary.md")}, "id": "c1", "type": "tool_call"},
        {"name": "search_files", "args": {"query": "kingfisher"}, "id": "c2", "type": "tool_call"}])
    result = graph.compile().invoke({"work": [step], "scope": _state(root)["scope"]})
    read, found = (str(m.content) for m in result["work"][-2:])
    assert "outside this conversation's scope" in read and "secret diary" not in read
    assert _names(found) == {"plan.md", "alias.md"}

"""The model <-> tools loop: tool calls, errors fed back, the step limit, and approvals for side effects."""

from __future__ import annotations

from pathlib import Path

import pytest

from agents.conversations.checkpoints import open_checkpointer
from agents.graph import GraphDeps, build_graph
from agents.providers.registry import ModelRegistry
from agents.routing import only
from agents.runner import ApprovalNeeded, Runner
from agents.toolset import ToolContext, build_tools
from tests.unit.agents.helpers import DOCS, fake, final, retrieve


def graph_for(registry: ModelRegistry, tmp_path: Path, **ctx: object):  # type: ignore[no-untyped-def]
    tools = build_tools(ToolContext(search=retrieve, **ctx))  # type: ignore[arg-type]
    return build_graph(GraphDeps(retrieve, only(lambda: registry.chat_model("fake/m")), tools=tools, max_steps=3),
                       open_checkpointer(tmp_path / "t.sqlite3"))


def test_a_tool_result_goes_back_to_the_model_and_grounds_its_answer(registry: ModelRegistry,
                                                                      tmp_path: Path) -> None:
    fake(registry).enqueue_tool_call("calculator", {"expression": "95 * 2"})
    fake(registry).enqueue("Two passports cost 190 euros.")
    result = final(list(Runner(graph_for(registry, tmp_path)).ask("What do two passport renewals cost?")))
    assert result.mode == "llm" and result.answer == "Two passports cost 190 euros."
    assert result.tool_calls == [{"name": "calculator", "args": {"expression": "95 * 2"}}]
    second_call_messages = fake(registry).calls[1][0]
    assert second_call_messages[-1].type == "tool" and "= 190" in str(second_call_messages[-1].content)


def test_a_tool_error_is_fed_back_to_the_model(registry: ModelRegistry, tmp_path: Path) -> None:
    fake(registry).enqueue_tool_call("calculator", {"expression": "__import__('os')"})
    fake(registry).enqueue("The fee is 95 euros, paid at the counter [1].")
    result = final(list(Runner(graph_for(registry, tmp_path)).ask("How much is the passport fee?")))
    tool_message = fake(registry).calls[1][0][-1]
    assert tool_message.type == "tool" and "error" in str(tool_message.content).lower()
    assert result.mode == "llm"


def test_the_step_limit_stops_a_model_that_keeps_calling_tools(registry: ModelRegistry, tmp_path: Path) -> None:
    for _ in range(5):
        fake(registry).enqueue_tool_call("calculator", {"expression": "1 + 1"})
    result = final(list(Runner(graph_for(registry, tmp_path)).ask("How much is the passport fee?")))
    assert len(fake(registry).calls) == 3
    assert result.mode == "fallback" and "still calling tools after 3 steps" in (result.fallback_reason or "")
    assert "The fee is 95 euros, paid at the counter." in [c.quote for c in result.citations]


def test_a_side_effect_asks_for_approval_and_runs_when_approved(registry: ModelRegistry, tmp_path: Path) -> None:
    notes = tmp_path / "notes"
    fake(registry).enqueue_tool_call("write_note", {"title": "Passport", "text": "Fee 95 euros"})
    fake(registry).enqueue("Saved a note about the passport fee of 95 euros [1].")
    asked: list[ApprovalNeeded] = []

    def approve(request: ApprovalNeeded) -> bool:
        asked.append(request)
        return True

    runner = Runner(graph_for(registry, tmp_path, notes_dir=notes))
    events = list(runner.ask("How much is the passport fee? Save it in a note.", approve=approve))
    assert [(a.tool, a.args["title"]) for a in asked] == [("write_note", "Passport")]
    assert any(isinstance(e, ApprovalNeeded) for e in events)
    written = list(notes.glob("*.md"))
    assert len(written) == 1 and "Fee 95 euros" in written[0].read_text(encoding="utf-8")
    assert final(events).tool_calls[0]["name"] == "write_note"


@pytest.mark.parametrize("approve", [None, lambda request: False])
def test_without_approval_nothing_happens(registry: ModelRegistry, tmp_path: Path, approve) -> None:  # type: ignore[no-untyped-def]
    notes = tmp_path / "notes"
    fake(registry).enqueue_tool_call("write_note", {"title": "Passport", "text": "Fee 95 euros"})
    fake(registry).enqueue("I could not save the note.")
    list(Runner(graph_for(registry, tmp_path, notes_dir=notes)).ask("How much is the passport fee?", approve=approve))
    assert not notes.exists() or list(notes.iterdir()) == []
    tool_message = fake(registry).calls[1][0][-1]
    assert "not approved" in str(tool_message.content)


def test_policies_always_and_never_skip_the_question(registry: ModelRegistry, tmp_path: Path) -> None:
    opened: list[str] = []
    fake(registry).enqueue_tool_call("open_path", {"target": "https://example.org"})
    fake(registry).enqueue("Opened it.")
    graph = graph_for(registry, tmp_path, policies={"open_path": "always"}, opener=opened.append)
    events = list(Runner(graph).ask("How much is the passport fee?"))
    assert opened == ["https://example.org"] and not any(isinstance(e, ApprovalNeeded) for e in events)

    fake(registry).enqueue_tool_call("open_path", {"target": "https://example.org"})
    fake(registry).enqueue("No.")
    graph = graph_for(registry, tmp_path, policies={"open_path": "never"}, opener=opened.append)
    list(Runner(graph).ask("How much is the passport fee?"))
    assert opened == ["https://example.org"]  # not opened a second time
    assert "does not allow" in str(fake(registry).calls[-1][0][-1].content)


def test_docs_fixture_is_shared() -> None:
    assert DOCS[0].path == "/docs/passport.md"


def test_tool_events_and_citations_reach_the_caller(registry: ModelRegistry, tmp_path: Path) -> None:
    from agents.runner import CitationEvent, ToolFinished, ToolStarted

    fake(registry).enqueue_tool_call("calculator", {"expression": "95 * 2"})
    fake(registry).enqueue("The fee is 95 euros, paid at the counter [1].")
    events = list(Runner(graph_for(registry, tmp_path)).ask("How much is the passport fee?"))
    started = [e for e in events if isinstance(e, ToolStarted)]
    finished = [e for e in events if isinstance(e, ToolFinished)]
    assert [(e.tool, e.args) for e in started] == [("calculator", {"expression": "95 * 2"})]
    assert finished[0].tool == "calculator" and "190" in finished[0].result
    cited = [e.citation.path for e in events if isinstance(e, CitationEvent)]
    assert cited == ["/docs/passport.md"]
    assert events.index(finished[0]) < events.index(next(e for e in events if isinstance(e, CitationEvent)))


def test_a_call_to_an_unknown_tool_is_an_error_the_model_sees(registry: ModelRegistry, tmp_path: Path) -> None:
    fake(registry).enqueue_tool_call("launch_rockets", {"count": 3})
    fake(registry).enqueue("The fee is 95 euros, paid at the counter [1].")
    result = final(list(Runner(graph_for(registry, tmp_path)).ask("How much is the passport fee?")))
    told = str(fake(registry).calls[1][0][-1].content)
    assert "launch_rockets" in told and "not a valid tool" in told.lower()
    assert result.mode == "llm"


@pytest.mark.parametrize(("approve", "kept"), [(lambda request: True, True), (None, False)])
def test_a_fact_stated_in_passing_is_remembered_only_with_consent(registry: ModelRegistry, tmp_path: Path,
                                                                  approve, kept: bool) -> None:  # type: ignore[no-untyped-def]
    from tests.fakes import FakeEmbedder
    from tools.memory import MemoryStore

    memory = MemoryStore(tmp_path / "memory", FakeEmbedder())
    graph = build_graph(GraphDeps(retrieve, memory=memory), open_checkpointer(tmp_path / "t.sqlite3"))
    events = list(Runner(graph).ask("My passport number is X1234567. How much is the passport fee?", approve=approve))
    asked = [e for e in events if isinstance(e, ApprovalNeeded)]
    assert [a.args["fact"] for a in asked] == ["My passport number is X1234567."]
    assert [m.text for m in memory.all()] == (["My passport number is X1234567."] if kept else [])
    assert [m.source for m in memory.all()] == (["extracted"] if kept else [])
    assert final(events).answer.startswith("From your files:")

"""The ask graph's branches with a scripted fake model and in-memory retrieval (no index, no real model)."""

from __future__ import annotations

from pathlib import Path

import pytest

from agents.conversations.checkpoints import open_checkpointer
from agents.graph import GraphDeps, build_graph
from agents.grounding import unusable
from agents.providers.errors import ModelNotInstalled, ProviderUnreachable
from agents.providers.limits import Limits
from agents.providers.registry import ModelRegistry
from agents.providers.spec import ModelSpec
from agents.routing import no_models, only
from agents.runner import Degraded, DraftAnswer, Runner, TokenDelta, TurnDone
from tests.unit.agents.helpers import fake, hit, retrieve  # noqa: F401 - hit: imported from here by tests/security
from tools.errors import IndexBusy, IndexDamagedError
from tools.index.search import SearchHit


@pytest.fixture
def registry() -> ModelRegistry:
    """The shared fake model (tests/unit/conftest.py) with a short first-token timeout, for the "timeout" case."""
    return ModelRegistry([ModelSpec(name="fake/m", kind="fake")], Limits(retries=0, first_token_timeout_s=0.3))


def run(registry: ModelRegistry | None, question: str, tmp_path: Path, thread: str | None = None,
        retrieval=retrieve) -> list[object]:  # type: ignore[no-untyped-def]
    models = only(lambda: registry.chat_model("fake/m")) if registry else no_models
    graph = build_graph(GraphDeps(retrieval, models), open_checkpointer(tmp_path / "threads.sqlite3"))
    return list(Runner(graph).ask(question, thread))


def done(events: list[object]) -> TurnDone:
    last = events[-1]
    assert isinstance(last, TurnDone)
    return last


def test_a_grounded_model_answer_is_llm_mode_with_citations(registry: ModelRegistry, tmp_path: Path) -> None:
    fake(registry).enqueue("The fee is 95 euros, paid at the counter [1].")
    events = run(registry, "How much is the passport fee?", tmp_path)
    shown = [e for e in events if isinstance(e, DraftAnswer | TokenDelta)]
    assert isinstance(shown[0], DraftAnswer)  # the deterministic answer comes before any model token
    assert any(isinstance(e, TokenDelta) for e in events)
    result = done(events)
    assert (result.mode, result.fallback_reason, result.model) == ("llm", None, "fake/m")
    assert result.answer == "The fee is 95 euros, paid at the counter [1]."
    assert result.citations[0].path == "/docs/passport.md"
    assert result.citations[0].quote == "The fee is 95 euros, paid at the counter."
    assert result.prompt == "answer_from_sources@2" and result.grounded
    sources_prompt = str(fake(registry).calls[0][0][1].content)
    assert "[1] (passport.md)" in sources_prompt and "How much is the passport fee?" in sources_prompt


@pytest.mark.parametrize(
    ("script", "reason"),
    [
        (lambda f: f.enqueue_error(ProviderUnreachable("server down")), "unreachable: server down"),
        (lambda f: f.enqueue_error(ModelNotInstalled("no model")), "not_installed: no model"),
        (lambda f: f.enqueue("slow words here", delay_s=0.5), "timeout"),
        (lambda f: f.enqueue("Passports are sold by dragons on the moon [1]."), "do not support"),
        (lambda f: f.enqueue("x\nx\nx\nx"), "repeats itself"),
        (lambda f: f.enqueue(""), "empty answer"),
    ],
)
def test_model_failures_leave_the_cited_deterministic_answer(registry: ModelRegistry, tmp_path: Path, script,  # type: ignore[no-untyped-def]
                                                             reason: str) -> None:
    script(fake(registry))
    events = run(registry, "How much is the passport fee?", tmp_path)
    result = done(events)
    assert result.mode == "fallback"
    assert reason in (result.fallback_reason or "")
    assert any(isinstance(e, Degraded) for e in events)
    assert "The fee is 95 euros, paid at the counter." in [c.quote for c in result.citations]
    assert result.answer.startswith("From your files:")


def test_an_answer_without_markers_is_kept_when_a_source_supports_it(registry: ModelRegistry,
                                                                     tmp_path: Path) -> None:
    fake(registry).enqueue("The passport fee is 95 euros at the counter.\n[2] (backup.md)")
    result = done(run(registry, "How much is the passport fee?", tmp_path))
    assert result.mode == "llm"
    assert [c.quote for c in result.citations] == ["The fee is 95 euros, paid at the counter."]


def test_no_model_configured_still_answers(tmp_path: Path) -> None:
    result = done(run(None, "How much is the passport fee?", tmp_path))
    assert result.mode == "fallback" and result.citations


def test_a_locked_index_is_an_answer_that_says_why(registry: ModelRegistry, tmp_path: Path) -> None:
    def locked(question: str, k: int) -> list[SearchHit]:
        raise IndexBusy("another process is writing the index")

    result = done(run(registry, "How much is the passport fee?", tmp_path, retrieval=locked))
    assert result.mode == "fallback" and "another process" in (result.fallback_reason or "")
    # Not "I found nothing": the files were never searched, and the answer says so and why.
    assert result.answer == "Your files could not be searched: another process is writing the index"
    assert fake(registry).calls == []  # no sources: the model is not asked to make something up


@pytest.mark.parametrize("question", ["How much is the passport fee?", "which file mentions backups",
                                      "summarize the passport notes"])
def test_a_damaged_index_is_said_not_passed_off_as_no_results(tmp_path: Path, question: str) -> None:
    def damaged(question: str, k: int) -> list[SearchHit]:
        raise IndexDamagedError("the index is damaged (a data file is truncated); run `deskmate index sync`")

    result = done(run(None, question, tmp_path, retrieval=damaged))
    assert result.answer.startswith("Your files could not be searched: the index is damaged")
    assert "deskmate index sync" in result.answer and not result.citations


def test_search_requests_list_files_without_the_model(registry: ModelRegistry, tmp_path: Path) -> None:
    result = done(run(registry, "which file mentions backups", tmp_path))
    assert result.mode == "fallback" and result.intent == "search"
    assert [c.path for c in result.citations] == ["/docs/passport.md", "/docs/backup.md"]
    assert fake(registry).calls == []


def test_an_empty_question_is_answered_not_raised(registry: ModelRegistry, tmp_path: Path) -> None:
    result = done(run(registry, "   ", tmp_path))
    assert result.answer == "Please ask a question." and result.fallback_reason == "empty question"


def test_turns_persist_in_their_thread(registry: ModelRegistry, tmp_path: Path) -> None:
    fake(registry).enqueue("The fee is 95 euros, paid at the counter [1].")
    first = done(run(registry, "How much is the passport fee?", tmp_path, thread="t1"))
    second = done(run(registry, "which file mentions backups", tmp_path, thread="t1"))
    assert first.thread_id == second.thread_id == "t1"
    graph = build_graph(GraphDeps(retrieve), open_checkpointer(tmp_path / "threads.sqlite3"))
    messages = graph.get_state({"configurable": {"thread_id": "t1"}}).values["messages"]
    assert [m.type for m in messages] == ["human", "ai", "human", "ai"]
    assert messages[1].content == first.answer


def test_unusable_spots_echoed_instructions() -> None:
    rules = "Answer the question using only the sources. Cite the source number in brackets, like [1]."
    assert unusable("Answer the question using only the sources. Yes.", rules) is not None
    assert unusable("The fee is 95 euros [1].", rules) is None


def test_remember_recall_and_forget_go_to_the_memory_store(registry: ModelRegistry, tmp_path: Path) -> None:
    from tests.fakes import FakeEmbedder
    from tools.memory import MemoryStore

    memory = MemoryStore(tmp_path / "memory", FakeEmbedder())
    graph = build_graph(GraphDeps(retrieve, only(lambda: registry.chat_model("fake/m")), memory=memory),
                        open_checkpointer(tmp_path / "t.sqlite3"))
    saved = done(list(Runner(graph).ask("remember that my locker code is 4471")))
    assert saved.intent == "remember" and "my locker code is 4471." in saved.answer
    assert [m.text for m in memory.all()] == ["my locker code is 4471."]
    listed = done(list(Runner(graph).ask("what do you remember about me?")))
    assert "my locker code is 4471." in listed.answer
    forgotten = done(list(Runner(graph).ask("forget my locker code is 4471")))
    assert "Forgotten" in forgotten.answer and memory.all() == []
    assert fake(registry).calls == []  # memory requests never wait for the model


def test_remembered_facts_reach_the_model_prompt_when_relevant(registry: ModelRegistry, tmp_path: Path) -> None:
    from tests.fakes import FakeEmbedder
    from tools.memory import MemoryStore

    memory = MemoryStore(tmp_path / "memory", FakeEmbedder())
    memory.add("My passport fee discount code is STUDENT10.")
    fake(registry).enqueue("The fee is 95 euros, paid at the counter [1].")
    graph = build_graph(GraphDeps(retrieve, only(lambda: registry.chat_model("fake/m")), memory=memory),
                        open_checkpointer(tmp_path / "t.sqlite3"))
    done(list(Runner(graph).ask("How much is the passport fee?")))
    system = str(fake(registry).calls[0][0][0].content)
    assert "STUDENT10" in system


def test_every_node_emits_a_trace_event(registry: ModelRegistry, tmp_path: Path) -> None:
    from agents.runner import Trace

    fake(registry).enqueue("The fee is 95 euros, paid at the counter [1].")
    events = run(registry, "How much is the passport fee?", tmp_path)
    traces = {e.event.node: e.event for e in events if isinstance(e, Trace)}
    assert list(traces) == ["check_input", "classify", "followup", "cache", "retrieve", "draft", "agent", "ground",
                            "finish"]
    assert traces["classify"].details["intent"] == "question"
    assert traces["retrieve"].details["retrieval"][0] == {"path": "/docs/passport.md", "score": 1.0}
    assert traces["agent"].details["model"] == "fake/m" and traces["agent"].details["usage"]["input_tokens"] > 0
    assert traces["agent"].details["prompt"] == "answer_from_sources@2"
    assert traces["ground"].details["mode"] == "llm"


@pytest.mark.parametrize(
    ("question", "answer"),
    [("what is 15% of 80", "15 % of 80 = 12"), ("convert 5 km to miles", "5 km = 3.10686 mi"),
     ("what day of the week is 2027-03-14", "14 March 2027 is a Sunday.")],
)
def test_arithmetic_units_and_dates_are_computed_exactly(registry: ModelRegistry, tmp_path: Path, question: str,
                                                         answer: str) -> None:
    result = done(run(registry, question, tmp_path))
    assert result.answer == answer and result.mode == "exact" and result.fallback_reason is None
    assert result.route == "exact" and fake(registry).calls == []


def test_a_repeated_question_is_answered_from_the_cache(registry: ModelRegistry, tmp_path: Path) -> None:
    from agents.cache import SemanticCache
    from tests.fakes import FakeEmbedder

    cache = SemanticCache(tmp_path / "cache.sqlite3", FakeEmbedder().embed, min_similarity=0.8)
    valid = {"ok": True}
    deps = GraphDeps(retrieve, only(lambda: registry.chat_model("fake/m")), cache=cache,
                     sources_exist=lambda hashes: valid["ok"])
    graph = build_graph(deps, open_checkpointer(tmp_path / "t.sqlite3"))
    fake(registry).enqueue("The fee is 95 euros, paid at the counter [1].")
    first = done(list(Runner(graph).ask("How much is the passport fee?")))
    second = done(list(Runner(graph).ask("how much is the passport fee")))
    assert (first.mode, second.mode) == ("llm", "cache")
    assert second.answer == first.answer and second.citations == first.citations
    assert len(fake(registry).calls) == 1
    valid["ok"] = False  # the cited file changed
    third = done(list(Runner(graph).ask("How much is the passport fee?")))
    assert third.mode != "cache" and len(fake(registry).calls) == 2
    cache.close()

"""TraceStore on a real SQLite file: span trees from real runner turns, redaction, retention, feedback and stats."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest

from agents.citations import Citation
from agents.conversations.checkpoints import open_checkpointer
from agents.graph import GraphDeps, build_graph
from agents.observability.telemetry import TraceEvent, with_first_token
from agents.observability.traces import TraceNotFound, TraceStore
from agents.providers.outbound import SentPayload
from agents.providers.registry import ModelRegistry
from agents.routing import only
from agents.runner import ApprovalNeeded, Runner, TurnDone
from agents.toolset import ToolContext, build_tools
from tests.unit.agents.helpers import DOCS, fake, final, retrieve
from tools.errors import ConfigError

KEY = "sk-test-" + "q1W2e3R4t5" * 4
NODES = ["check_input", "classify", "followup", "cache", "retrieve", "draft", "agent", "ground", "finish"]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[TraceStore]:
    traces = TraceStore(tmp_path / "traces.sqlite3")
    yield traces
    traces.close()


def runner(registry: ModelRegistry, store: TraceStore, tmp_path: Path, **ctx: object) -> Runner:
    tools = build_tools(ToolContext(search=retrieve, **ctx)) if ctx else ()  # type: ignore[arg-type]
    graph = build_graph(GraphDeps(retrieve, only(lambda: registry.chat_model("fake/m")), tools=tools),
                        open_checkpointer(tmp_path / "t.sqlite3"))
    return Runner(graph, recorder=lambda q, done, traces: store.record(q, done, traces, provider="fake"))


def made_turn(question: str = "How much is the fee?", *, answer: str = "95 euros [1].", mode: str = "llm",
              model: str | None = "fake/m", latency_ms: float = 120.0, fallback_reason: str | None = None,
              quote: str = "The fee is 95 euros.") -> TurnDone:
    citation = Citation(path="/docs/passport.md", quote=quote, page=None, line_start=3, line_end=3,
                        chunk_hash="h1")
    return TurnDone("th1", answer, mode, fallback_reason, [citation], model, "answer_from_sources@2", True,
                    "question", latency_ms, 20.0, {"input_tokens": 50, "output_tokens": 7})


def events(started: float, score: float = 0.8) -> list[TraceEvent]:
    usage = {"input_tokens": 50, "output_tokens": 7}
    return [TraceEvent("check_input", started, 0.1),
            TraceEvent("classify", started + 0.001, 2.0, {"intent": "question"}),
            TraceEvent("retrieve", started + 0.003, 30.0,
                       {"retrieval": [{"path": "/docs/passport.md", "score": score}]}),
            TraceEvent("agent", started + 0.04, 60.0, {"model": "fake/m", "usage": usage, "ttft_ms": 25.0}),
            TraceEvent("finish", started + 0.11, 0.2)]


def test_a_model_turn_is_stored_as_a_span_tree_with_its_id_on_the_turn(registry: ModelRegistry, store: TraceStore,
                                                                       tmp_path: Path) -> None:
    fake(registry).enqueue("The fee is 95 euros, paid at the counter [1].")
    done = final(list(runner(registry, store, tmp_path).ask("How much is the passport fee?")))
    assert done.mode == "llm" and done.trace_id is not None
    assert done.as_dict()["trace_id"] == done.trace_id
    trace = store.get(done.trace_id)
    assert trace.root.name == "turn" and [s.name for s in trace.root.children] == NODES
    assert all(s.parent_id == 0 for s in trace.root.children)
    spans = {s.name: s for s in trace.root.children}
    assert spans["retrieve"].attributes["query"] == "How much is the passport fee?"
    assert [c["path"] for c in spans["retrieve"].attributes["candidates"]] == [d.path for d in DOCS]
    agent = spans["agent"].attributes
    assert agent["model"] == "fake/m" and agent["tokens_in"] > 0 and agent["tokens_out"] == 10  # words
    summary = trace.summary
    assert (summary.mode, summary.model, summary.provider) == ("llm", "fake/m", "fake")
    assert (summary.prompt_id, summary.prompt_version) == ("answer_from_sources", "2")
    assert summary.tokens_out == 10 and summary.top_score == 1.0
    # the turn's time to first token: the agent step's start within the turn plus that step's own time to it
    assert summary.ttft_ms == round((spans["agent"].started - trace.root.started) * 1000 + agent["ttft_ms"], 1)
    assert trace.root.attributes["answer"] == done.answer
    assert [s.id for s in store.list()] == [done.trace_id]


def test_time_to_first_token_is_counted_from_the_model_steps_start() -> None:
    step = TraceEvent("agent", 1000.0, 60.0, {"model": "fake/m"})
    assert with_first_token(step, 1000.025).details == {"model": "fake/m", "ttft_ms": 25.0}
    assert with_first_token(step, 999.5).details["ttft_ms"] == 0.0  # a clock stepped back never gives a negative


def test_tool_rounds_become_spans_with_arguments_result_size_and_approval(registry: ModelRegistry, store: TraceStore,
                                                                         tmp_path: Path) -> None:
    fake(registry).enqueue_tool_call("write_note", {"title": "Fee", "text": f"95 euros; password=hunter2 {KEY}"})
    fake(registry).enqueue("Saved a note about the passport fee of 95 euros [1].")

    def approve(request: ApprovalNeeded) -> bool:
        return True

    run = runner(registry, store, tmp_path, notes_dir=tmp_path / "notes")
    done = final(list(run.ask("Save a note about the passport fee", approve=approve)))
    assert done.trace_id is not None
    spans = store.get(done.trace_id).root.children
    tools = [s for s in spans if s.name == "tools"]
    assert len(tools) == 1
    call = tools[0].attributes["calls"][0]
    assert call["name"] == "write_note" and call["approval"] == "approved" and call["result_chars"] > 0
    assert call["args"]["text"] == "95 euros; password=[redacted password] [redacted api key]"
    names = [s.name for s in spans]
    assert names.index("agent") < names.index("tools") < len(names) - 1 - names[::-1].index("agent")


def test_secrets_are_masked_in_everything_stored(tmp_path: Path) -> None:
    known = "opaque-key-Zq81x9"
    store = TraceStore(tmp_path / "traces.sqlite3", known=lambda: [known])
    done = made_turn(f"Is {KEY} my key?", answer=f"Your key {known} works.", quote=f"token={KEY}")
    trace_id = store.record(done.answer, done, events(time.time()))
    trace = store.get(trace_id)
    assert "[redacted secret]" in trace.root.attributes["answer"]
    assert trace.root.attributes["citations"][0]["quote"] == "token=[redacted api key]"
    store.close()
    raw = b"".join(p.read_bytes() for p in tmp_path.iterdir())
    assert KEY.encode() not in raw and known.encode() not in raw


def test_document_text_is_withheld_when_asked(tmp_path: Path) -> None:
    store = TraceStore(tmp_path / "traces.sqlite3", redact_documents=True)
    done = made_turn("How much is the passport fee?", answer="The fee is 95 euros [1].", mode="fallback",
                     fallback_reason="the model's answer made claims its sources do not support: 'It is free.'")
    sent = [SentPayload("remote/m", time.time() + 0.05, [{"role": "user", "content": "passport fee sources"}])]
    started = time.time()
    trace = store.get(store.record("How much is the passport fee?", done, events(started), sent=sent))
    assert trace.summary.question is None
    assert trace.root.attributes["question"] == trace.root.attributes["answer"] == "(withheld)"
    assert trace.root.attributes["citations"][0] == {"path": "/docs/passport.md", "page": None, "line_start": 3,
                                                      "line_end": 3, "quote": "(withheld)"}
    assert trace.summary.fallback_reason == "the model's answer made claims its sources do not support: (withheld)"
    retrieve_span = next(s for s in trace.root.children if s.name == "retrieve")
    assert retrieve_span.attributes["query"] == "(withheld)"
    assert retrieve_span.attributes["candidates"] == [{"path": "/docs/passport.md", "score": 0.8}]
    agent = next(s for s in trace.root.children if s.name == "agent")
    assert agent.attributes["sent"][0]["messages"] == [{"role": "user", "content": "(withheld)"}]
    assert "passport fee" not in store.export(trace.summary.id)
    store.close()


def test_what_a_remote_model_was_sent_is_on_the_model_step(store: TraceStore) -> None:
    started = time.time()
    sent = [SentPayload("remote/m", started + 0.05, [{"role": "user", "content": "Sources: [redacted api key]"}],
                        {"api key": 1})]
    trace = store.get(store.record("q", made_turn(), events(started), sent=sent))
    agent = next(s for s in trace.root.children if s.name == "agent")
    assert agent.attributes["sent"] == [{"model": "remote/m", "at": sent[0].at, "redactions": {"api key": 1},
                                         "messages": [{"role": "user", "content": "Sources: [redacted api key]"}]}]
    assert trace.summary.ttft_ms == pytest.approx(65.0, abs=0.5)  # 40 ms into the turn, then 25 ms to a token


def test_old_turns_and_turns_beyond_the_limit_are_pruned(tmp_path: Path) -> None:
    store = TraceStore(tmp_path / "traces.sqlite3", max_turns=3, max_age_days=30, prune_every=2)
    now = time.time()
    old = store.record("old", made_turn(), events(now - 40 * 86400))
    ids = [store.record(f"q{n}", made_turn(), events(now + n)) for n in range(5)]
    kept = [s.id for s in store.list()]
    assert old not in kept and ids[0] not in kept  # pruned on insert, no explicit call
    store.prune()
    assert [s.id for s in store.list()] == ids[:1:-1]
    with pytest.raises(TraceNotFound):
        store.get(ids[0])
    store.close()
    with closing(sqlite3.connect(tmp_path / "traces.sqlite3")) as db:  # the file itself: no orphaned spans left
        assert db.execute("SELECT COUNT(DISTINCT turn_id) FROM spans").fetchone()[0] == 3


def test_feedback_is_stored_and_validated(store: TraceStore) -> None:
    trace_id = store.record("q", made_turn(), events(time.time()))
    store.set_feedback(trace_id, "down", {"/docs/passport.md": "wrong"})
    trace = store.get(trace_id)
    assert trace.summary.feedback == "down" and trace.feedback_sources == {"/docs/passport.md": "wrong"}
    store.set_feedback(trace_id, None)
    assert store.get(trace_id).summary.feedback is None
    with pytest.raises(ConfigError):
        store.set_feedback(trace_id, "meh")
    with pytest.raises(ConfigError):
        store.set_feedback(trace_id, "up", {"/a": "maybe"})
    with pytest.raises(TraceNotFound, match="no trace 'nope'"):
        store.set_feedback("nope", "up")


def test_stats_per_day_and_per_model(store: TraceStore) -> None:
    now = time.time()
    turns = [made_turn(model="a/m", latency_ms=100), made_turn(model="a/m", latency_ms=300),
             made_turn(model="b/m", mode="fallback", latency_ms=200, fallback_reason="timeout: b/m: no first token"),
             made_turn(model="b/m", mode="cache", latency_ms=20)]
    ids = [store.record("q", t, events(now + n, score=0.5 + n / 10)) for n, t in enumerate(turns)]
    store.record("old", made_turn(), events(now - 40 * 86400))
    store.set_feedback(ids[0], "up")
    store.set_feedback(ids[2], "down")
    stats = store.stats(days=30)
    total = stats["total"]
    assert total["turns"] == 4 and total["latency_p50_ms"] == 150 and total["latency_p95_ms"] == 285
    assert total["cache_hit_rate"] == 0.25 and total["fallback_rate"] == 0.25
    assert total["fallback_reasons"] == {"timeout": 1}
    assert total["tokens_in"] == 200 and total["tokens_out"] == 28
    assert total["top_score"]["min"] == 0.5 and total["top_score"]["max"] == 0.8
    assert (total["thumbs_up"], total["thumbs_down"]) == (1, 1)
    assert [(m["model"], m["turns"]) for m in stats["by_model"]] == [("a/m", 2), ("b/m", 2)]
    assert sum(d["turns"] for d in stats["by_day"]) == 4


def test_export_is_the_full_record_as_json(store: TraceStore) -> None:
    trace_id = store.record("q", made_turn(), events(time.time()))
    exported = json.loads(store.export(trace_id))
    assert exported["id"] == trace_id and exported["spans"]["name"] == "turn"
    assert [c["name"] for c in exported["spans"]["children"]] == ["check_input", "classify", "retrieve", "agent",
                                                                  "finish"]


def test_a_failing_store_costs_the_turn_its_trace_not_its_answer(registry: ModelRegistry, tmp_path: Path) -> None:
    store = TraceStore(tmp_path / "traces.sqlite3")
    store.close()  # every write now fails
    fake(registry).enqueue("The fee is 95 euros, paid at the counter [1].")
    done = final(list(runner(registry, store, tmp_path).ask("How much is the passport fee?")))
    assert done.mode == "llm" and done.trace_id is None

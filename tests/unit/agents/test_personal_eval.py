"""Personal evaluation: cases from turns rated in a real TraceStore, scored against a ranking, saved and compared."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from agents.citations import Citation
from agents.evaluation.feedback_cases import build_cases, case_id
from agents.evaluation.personal_eval import (
    Fingerprint,
    RunStore,
    compare_runs,
    fingerprint_changes,
    run_record,
    score_cases,
)
from agents.observability.traces import TraceStore
from agents.runner import TurnDone
from tools.errors import DeskmateError

FINGERPRINT = Fingerprint("minilm (int8, abc)", "256 tokens, overlap 32, chunker 1", "local/smollm2-135m",
                          "answer_from_sources@2")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[TraceStore]:
    traces = TraceStore(tmp_path / "traces.sqlite3")
    yield traces
    traces.close()


def done(*cited: str) -> TurnDone:
    citations = [Citation(path=p, quote="a quote", line_start=1, line_end=1, chunk_hash=p) for p in cited]
    return TurnDone("th", "an answer", "fallback", None, citations, None, None, True, "question", 50.0, 10.0)


def rate(store: TraceStore, question: str, cited: list[str], rating: str | None,
         sources: dict[str, str] | None = None) -> str:
    trace_id = store.record(question, done(*cited), [])
    store.set_feedback(trace_id, rating, sources)
    return trace_id


def test_cases_come_from_thumbs_and_source_verdicts(store: TraceStore, tmp_path: Path) -> None:
    store.record("Never rated?", done("/d/x.md"), [])
    up = rate(store, "When do backups run?", ["/d/backup.md", "/d/notes.md"], "up", {"/d/notes.md": "wrong"})
    rate(store, "Who leads Heron?", ["/d/heron.md", "/d/faq.md"], "down", {"/d/faq.md": "right"})
    rate(store, "What is the fee?", ["/d/fee.md"], "down")  # a thumb down alone names no file to check
    withheld = TraceStore(tmp_path / "traces.sqlite3", redact_documents=True)
    try:
        rate(withheld, "A private question", ["/d/private.md"], "up")
    finally:
        withheld.close()

    cases = build_cases(store.rated())

    assert (cases.rated, cases.withheld, cases.unjudged) == (4, 1, 1)
    by_question = {c.question: c for c in cases.cases}
    assert list(by_question) == ["When do backups run?", "Who leads Heron?"]
    backups = by_question["When do backups run?"]
    assert backups.expected == ("/d/backup.md",) and backups.wrong == ("/d/notes.md",)  # the verdict beats the thumb
    assert backups.traces == (up,) and backups.id == case_id("when do  backups run?")
    heron = by_question["Who leads Heron?"]
    assert heron.expected == ("/d/faq.md",) and heron.wrong == ()  # a thumb down makes no cited file wrong


def test_the_same_question_rated_again_merges_with_the_latest_verdict_winning(store: TraceStore) -> None:
    rate(store, "When do backups run?", ["/d/backup.md"], "up")
    rate(store, "when do backups  run?", ["/d/backup.md", "/d/old.md"], None,
         {"/d/backup.md": "wrong", "/d/old.md": "right"})

    (case,) = build_cases(store.rated()).cases

    assert case.expected == ("/d/old.md",) and case.wrong == ("/d/backup.md",) and len(case.traces) == 2


def test_scoring_runs_retrieval_per_case_and_folds_chunks_to_files(store: TraceStore) -> None:
    rate(store, "backups", ["/d/backup.md"], "up", {"/d/notes.md": "wrong"})
    rate(store, "heron", [], None, {"/d/heron.md": "right"})
    rate(store, "only wrong", [], None, {"/d/spam.md": "wrong"})
    rankings = {"backups": ["/d/notes.md", "/d/notes.md", "/d/backup.md", "/d/a.md"],
                "heron": ["/d/a.md", "/d/b.md"], "only wrong": ["/d/spam.md"]}
    asked: list[tuple[str, int]] = []

    def retrieve(question: str, n: int) -> list[str]:
        asked.append((question, n))
        return rankings[question]

    scored = score_cases(build_cases(store.rated()).cases, retrieve, k=10)
    record = run_record(scored, FINGERPRINT, 10, {"rated": 3, "withheld": 0, "unjudged": 0})

    assert asked == [("backups", 40), ("heron", 40), ("only wrong", 40)]
    cases = {c["question"]: c for c in record["cases"]}
    assert cases["backups"]["rank"] == 2 and cases["backups"]["wrong_in_top5"] == ["/d/notes.md"]
    assert cases["backups"]["top"] == ["/d/notes.md", "/d/backup.md", "/d/a.md"]
    assert cases["heron"]["rank"] is None and not cases["heron"]["hit_at_5"]
    assert record["overall"] == {"cases": 2, "hit_at_1": 0.0, "hit_at_5": 0.5, "mrr": 0.25, "wrong_in_top5": 2,
                                 "cases_with_wrong_in_top5": 2, "mrr_at": 10}
    assert record["fingerprint"]["model"] == "local/smollm2-135m"
    with pytest.raises(DeskmateError, match="at least 1"):
        score_cases([], retrieve, k=0)


def _run(ranks: dict[str, int | None], wrong: dict[str, int], fingerprint: Fingerprint = FINGERPRINT,
         at: float = 1000.0) -> dict[str, object]:
    cases = [{"id": key, "question": f"question {key}", "rank": rank, "reciprocal_rank": 1 / rank if rank else 0.0,
              "wrong_in_top5": ["/d/w.md"] * wrong.get(key, 0)} for key, rank in ranks.items()]
    scored = [c for c in cases if c["rank"] is not None]
    return {"at": at, "fingerprint": fingerprint.as_dict(), "cases": cases,
            "overall": {"hit_at_1": sum(c["rank"] == 1 for c in scored) / len(cases), "hit_at_5": 1.0, "mrr": 0.5,
                        "wrong_in_top5": sum(wrong.values())}}


def test_comparison_names_improved_and_regressed_cases_and_what_changed_in_the_setup() -> None:
    before = _run({"a": 3, "b": 1, "c": 1, "gone": 1}, {"c": 0})
    after = _run({"a": 1, "b": 2, "c": 1, "new": 1}, {"c": 1},
                 Fingerprint(**{**FINGERPRINT.as_dict(), "model": "ollama/llama3.2:3b"}), at=2000.0)

    comparison = compare_runs(before, after)

    assert [c.id for c in comparison.improved] == ["a"]
    assert [c.id for c in comparison.regressed] == ["b", "c"]
    assert comparison.improved[0].describe() == "question a: rank 3 -> rank 1"
    assert comparison.regressed[1].describe() == "question c: wrong in top 5: 0 -> 1"
    assert (comparison.new_cases, comparison.gone_cases) == (1, 1)
    assert comparison.overall["hit_at_1"] == (0.75, 0.75) and comparison.overall["wrong_in_top5"] == (0.0, 1.0)
    assert comparison.fingerprint_changes == ["model: local/smollm2-135m -> ollama/llama3.2:3b"]
    assert compare_runs(before, before).fingerprint_changes == []
    assert fingerprint_changes({"prompt": "p@1"}, {"prompt": "p@2", "model": "m"}) == ["prompt: p@1 -> p@2",
                                                                                       "model: None -> m"]


def test_run_store_returns_the_newest_readable_run(tmp_path: Path) -> None:
    runs = RunStore(tmp_path / "eval" / "personal")
    assert runs.latest() is None
    first = runs.save({**_run({"a": 1}, {}), "at": 1000.0})
    runs.save({**_run({"a": 2}, {}), "at": 2000.0})
    (runs.folder / "99999999-999999-000000.json").write_text("{not json", encoding="utf-8")

    latest = runs.latest()

    assert latest is not None and latest["at"] == 2000.0 and latest["cases"][0]["rank"] == 2
    assert json.loads(first.read_text(encoding="utf-8"))["at"] == 1000.0
    assert not list(runs.folder.glob(".*.tmp"))

"""Answer evaluation: the answer set's two layouts, key-fact matching, and judging answers against real files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agents.citations import Citation
from agents.evaluation.answer_eval import SourceTexts, fact_found, judge, load_answer_set, summarize
from agents.runner import TurnDone
from tests.conftest import REPO
from tools.errors import EvalError


def write_set(folder: Path, rows: list[dict[str, object]]) -> Path:
    (folder / "docs").mkdir(parents=True)
    (folder / "questions.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    return folder


def test_both_layouts_load_as_the_same_questions(tmp_path: Path) -> None:
    new = write_set(tmp_path / "new", [{"id": "q1", "question": "Fee?", "expected_sources": ["a/fee.md"],
                                        "key_facts": ["95 euros", "per day"]}])
    old = write_set(tmp_path / "old", [{"id": "q1", "question": "Fee?", "source": "fee.md",
                                        "answer_contains": ["95 euros"]}])

    (q_new,), (q_old,) = load_answer_set(new), load_answer_set(old)

    assert (q_new.expected_sources, q_new.key_facts) == (("a/fee.md",), ("95 euros", "per day"))
    assert (q_old.expected_sources, q_old.key_facts) == (("fee.md",), ("95 euros",))
    assert len(load_answer_set(REPO / "tests" / "data" / "answerset")) == 40


def test_a_malformed_answer_set_says_what_is_wrong(tmp_path: Path) -> None:
    with pytest.raises(EvalError, match="missing"):
        load_answer_set(tmp_path)
    bad = write_set(tmp_path / "bad", [{"id": "q1", "question": "Fee?", "key_facts": ["x"]}])
    with pytest.raises(EvalError, match=r"questions.jsonl:1: needs id, question, expected_sources"):
        load_answer_set(bad)


def test_key_facts_match_as_substrings_or_by_all_their_words() -> None:
    answer = "The allowance is 95  Euros per day;\nreceipts are kept for seven years."
    assert fact_found("95 euros", answer)
    assert fact_found("seven years receipts", answer)  # every word, in any order
    assert not fact_found("eight years", answer)
    assert not fact_found("", answer) and fact_found("day", answer)


def test_judging_counts_expected_citations_supported_quotes_and_facts(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    (docs / "policies").mkdir(parents=True)
    travel = docs / "policies" / "travel.md"
    travel.write_text("# Travel\n\nThe daily meal allowance is\n95 euros.\n", encoding="utf-8")
    faq = docs / "faq.md"
    faq.write_text("# FAQ\n\nAsk the office.\n", encoding="utf-8")
    (question,) = load_answer_set(write_set(tmp_path / "set", [
        {"id": "q1", "question": "Meal allowance?", "expected_sources": ["policies/travel.md"],
         "key_facts": ["95 euros", "receipts"]}]))
    citations = [Citation(str(travel), "the daily meal allowance is 95 euros"),  # spans a line break: still there
                 Citation(str(faq), "Ask the office."), Citation(str(faq), "Call the office.")]
    done = TurnDone("th", "It is 95 euros.", "llm", None, citations, "fake/m", "p@1", True, "question", 10.0, 5.0)

    judged = judge(question, done, docs, SourceTexts())
    failed = judge(question, None, docs, SourceTexts())

    assert judged.cited == ["policies/travel.md", "faq.md", "faq.md"]
    assert (judged.expected_cited, judged.supported, judged.facts_found) == (1, 2, ["95 euros"])
    assert judged.unsupported_quotes == ["Call the office."]
    assert (failed.mode, failed.cited, failed.facts_found) == ("failed", [], [])
    summary = summarize([judged, failed])
    assert list(summary["by_mode"]) == ["llm", "failed"]
    assert summary["all"] == {"questions": 2, "citations": 3, "uncited_answers": 1, "citation_precision": 1 / 3,
                              "support": 2 / 3, "key_fact_recall": 0.25, "answers_with_every_fact": 0.0}
    assert summary["by_mode"]["failed"]["support"] is None  # nothing cited: no rate to give

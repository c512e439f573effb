"""The retrieval gate and the ranking metrics of the evaluations: fabricated results against fabricated baselines."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import REPO
from tools.errors import EvalError
from tools.eval.baseline import compare, dataset_name, failures, load_baselines, update_baseline
from tools.eval.ranking import fold_paths, overall, rank_outcome

BASELINE = {"fts": 0.368, "vector": 0.3802, "hybrid": 0.4124}


def test_a_run_within_the_tolerance_passes() -> None:
    comparisons = compare({"fts": 0.3601, "vector": 0.3902, "hybrid": 0.3924}, BASELINE, tolerance=0.02)

    assert failures(comparisons) == []
    assert [(c.mode, c.difference) for c in comparisons] == [("fts", -0.0079), ("vector", 0.01), ("hybrid", -0.02)]
    assert "within tolerance" in comparisons[2].message()  # a drop of exactly the tolerance passes


def test_a_mode_that_dropped_more_than_the_tolerance_fails_with_a_clear_message() -> None:
    comparisons = compare({"fts": 0.37, "vector": 0.38, "hybrid": 0.3801}, BASELINE, tolerance=0.02)

    (dropped,) = failures(comparisons)
    assert dropped.mode == "hybrid" and dropped.dropped
    assert dropped.message() == ("hybrid: nDCG@10 dropped: 0.3801 against the baseline 0.4124 (-0.0323, "
                                 "tolerance 0.0200)")
    assert failures(compare({"hybrid": 0.3801}, BASELINE, tolerance=0.05)) == []


def test_a_mode_without_a_baseline_never_fails() -> None:
    (comparison,) = compare({"bm25": 0.1}, BASELINE)

    assert comparison.baseline is None and comparison.difference is None and not comparison.dropped
    assert "no baseline yet" in comparison.message()
    with pytest.raises(EvalError, match="negative"):
        compare({"fts": 0.3}, BASELINE, tolerance=-0.1)


def test_updating_a_baseline_keeps_other_datasets_and_modes(tmp_path: Path) -> None:
    path = tmp_path / "eval" / "baselines.json"
    assert load_baselines(path) == {}
    update_baseline(path, "scifact", {"hybrid": 0.7})
    update_baseline(path, "cranfield", BASELINE)
    update_baseline(path, "cranfield", {"hybrid": 0.41239999})

    stored = json.loads(path.read_text(encoding="utf-8"))
    assert stored == {"cranfield": {**BASELINE, "hybrid": 0.4124}, "scifact": {"hybrid": 0.7}}
    assert load_baselines(path) == stored
    assert dataset_name(tmp_path / "eval" / ".." / "eval") == "eval"


def test_a_malformed_baseline_file_is_an_eval_error(tmp_path: Path) -> None:
    path = tmp_path / "baselines.json"
    path.write_text('{"cranfield": {"hybrid": "high"}}', encoding="utf-8")
    with pytest.raises(EvalError, match="not a number"):
        load_baselines(path)
    path.write_text("[1, 2]", encoding="utf-8")
    with pytest.raises(EvalError, match="expected"):
        load_baselines(path)


def test_the_committed_baseline_holds_every_mode_for_cranfield() -> None:
    stored = load_baselines(REPO / "resources" / "eval" / "baselines.json")

    assert set(stored["cranfield"]) == {"fts", "vector", "hybrid"}
    assert stored["cranfield"]["hybrid"] > max(stored["cranfield"]["fts"], stored["cranfield"]["vector"])


def test_ranking_outcomes_for_expected_and_wrong_files() -> None:
    ranked = fold_paths(["b", "b", "w", "a", "c", "d", "e", "w2"])
    assert ranked == ["b", "w", "a", "c", "d", "e", "w2"]

    found = rank_outcome(ranked, expected=["a", "z"], wrong=["w", "w2"], k=10)
    assert (found.rank, found.hit_at_1, found.hit_at_5, found.reciprocal_rank) == (3, False, True, 1 / 3)
    assert found.wrong_in_top == ("w",)  # w2 is ranked 7th: outside the top 5
    assert rank_outcome(ranked, ["a"], [], k=2).rank is None  # beyond the cut-off
    only_wrong = rank_outcome(ranked, [], ["b"])
    first = rank_outcome(ranked, ["b"], [])

    total = overall([found, only_wrong, first])
    assert (total.cases, total.hit_at_1, total.hit_at_5) == (2, 0.5, 1.0)
    assert total.mrr == pytest.approx((1 / 3 + 1) / 2)
    assert (total.wrong_in_top, total.cases_with_wrong) == (2, 2)
    assert overall([]).cases == 0

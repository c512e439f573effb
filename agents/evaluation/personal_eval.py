"""Personal evaluation runs: rated questions asked of retrieval again, scored, saved, and compared with the last run.

Each run is one JSON file in its folder (``data_dir/eval/personal/``), named by its time so the newest sorts last. It
holds the figures per case and overall and a fingerprint of what shapes retrieval and answers (embedder, chunking,
default model, prompt version), so a change in the figures can be put beside a change in the setup.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from agents.evaluation.feedback_cases import Case
from tools.errors import DeskmateError
from tools.eval.ranking import TOP, Overall, RankOutcome, fold_paths, overall, rank_outcome

RUN_VERSION = 1
CHUNKS_PER_FILE = 4  # chunk hits fetched per file wanted: a file often holds several of the top chunks
METRICS = ("hit_at_1", "hit_at_5", "mrr", "wrong_in_top5")

Retrieve = Callable[[str, int], Sequence[str]]  # question, chunks wanted -> the hits' paths, best first


@dataclass(frozen=True, slots=True)
class Fingerprint:
    embedder: str
    chunking: str
    model: str
    prompt: str

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


def fingerprint_changes(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """``"model: a -> b"`` for each part of the fingerprint that differs."""
    return [f"{key}: {before.get(key)} -> {after.get(key)}" for key in dict.fromkeys([*before, *after])
            if before.get(key) != after.get(key)]


def score_cases(cases: Sequence[Case], retrieve: Retrieve, k: int = 10) -> list[tuple[Case, RankOutcome, list[str]]]:
    """Each case asked of retrieval: its outcome and the top files, best first."""
    if k < 1:
        raise DeskmateError(f"--k must be at least 1, not {k}")
    scored = []
    for case in cases:
        ranked = fold_paths(retrieve(case.question, max(k, TOP) * CHUNKS_PER_FILE))
        scored.append((case, rank_outcome(ranked, case.expected, case.wrong, k), ranked[:max(k, TOP)]))
    return scored


def run_record(scored: Sequence[tuple[Case, RankOutcome, list[str]]], fingerprint: Fingerprint, k: int,
               skipped: dict[str, int]) -> dict[str, Any]:
    """What a run saves and prints: figures per case and overall, the fingerprint, what was skipped."""
    total: Overall = overall(o for _, o, _ in scored)
    cases = [{**case.as_dict(), "rank": outcome.rank, "hit_at_1": outcome.hit_at_1, "hit_at_5": outcome.hit_at_5,
              "reciprocal_rank": outcome.reciprocal_rank, "wrong_in_top5": list(outcome.wrong_in_top), "top": top[:TOP]}
             for case, outcome, top in scored]
    return {"version": RUN_VERSION, "at": time.time(), "k": k, "fingerprint": fingerprint.as_dict(),
            "overall": {**total.as_dict(), "mrr_at": k}, "skipped": skipped, "cases": cases}


@dataclass(frozen=True, slots=True)
class CaseChange:
    id: str
    question: str
    rank_before: int | None
    rank_after: int | None
    wrong_before: int
    wrong_after: int

    def describe(self) -> str:
        def place(rank: int | None) -> str:
            return f"rank {rank}" if rank is not None else "not found"

        parts = []
        if self.rank_before != self.rank_after:
            parts.append(f"{place(self.rank_before)} -> {place(self.rank_after)}")
        if self.wrong_before != self.wrong_after:
            parts.append(f"wrong in top 5: {self.wrong_before} -> {self.wrong_after}")
        return f"{self.question}: {', '.join(parts)}"


@dataclass(slots=True)
class RunComparison:
    previous_at: float
    overall: dict[str, tuple[float, float]]  # metric -> (before, now)
    improved: list[CaseChange]
    regressed: list[CaseChange]
    new_cases: int
    gone_cases: int
    fingerprint_changes: list[str]

    def as_dict(self) -> dict[str, Any]:
        return {"previous_at": self.previous_at,
                "overall": {m: {"before": b, "now": n, "difference": n - b} for m, (b, n) in self.overall.items()},
                "improved": [asdict(c) for c in self.improved], "regressed": [asdict(c) for c in self.regressed],
                "new_cases": self.new_cases, "gone_cases": self.gone_cases,
                "fingerprint_changed": bool(self.fingerprint_changes), "fingerprint_changes": self.fingerprint_changes}


def _worse(before: dict[str, Any], after: dict[str, Any]) -> tuple[bool, bool]:
    """(got worse, got better) for one case: a lower reciprocal rank or more wrong files is worse."""
    rr_before, rr_after = before.get("reciprocal_rank", 0.0), after.get("reciprocal_rank", 0.0)
    wrong_before, wrong_after = len(before.get("wrong_in_top5", [])), len(after.get("wrong_in_top5", []))
    return rr_after < rr_before or wrong_after > wrong_before, rr_after > rr_before or wrong_after < wrong_before


def compare_runs(previous: dict[str, Any], current: dict[str, Any]) -> RunComparison:
    """What changed since ``previous``: the overall figures, the cases that improved or regressed, the setup."""
    before_cases = {c["id"]: c for c in previous.get("cases", [])}
    after_cases = {c["id"]: c for c in current.get("cases", [])}
    improved, regressed = [], []
    for key, after in after_cases.items():
        before = before_cases.get(key)
        if before is None:
            continue
        worse, better = _worse(before, after)
        change = CaseChange(key, after["question"], before.get("rank"), after.get("rank"),
                            len(before.get("wrong_in_top5", [])), len(after.get("wrong_in_top5", [])))
        if worse:
            regressed.append(change)
        elif better:
            improved.append(change)
    figures = {m: (float(previous.get("overall", {}).get(m, 0.0)), float(current["overall"].get(m, 0.0)))
               for m in METRICS}
    return RunComparison(float(previous.get("at", 0.0)), figures, improved, regressed,
                         len(after_cases.keys() - before_cases.keys()), len(before_cases.keys() - after_cases.keys()),
                         fingerprint_changes(previous.get("fingerprint", {}), current["fingerprint"]))


class RunStore:
    """The saved runs of the personal evaluation, one JSON file each."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def latest(self) -> dict[str, Any] | None:
        """The newest readable run; None before the first (a damaged file is passed over)."""
        for path in sorted(self.folder.glob("*.json"), reverse=True):
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            if isinstance(data, dict) and isinstance(data.get("cases"), list) and "overall" in data:
                return data
        return None

    def save(self, record: dict[str, Any]) -> Path:
        """Written to a temporary name and renamed, so a crash never leaves half a run to compare with."""
        self.folder.mkdir(parents=True, exist_ok=True)
        at = float(record["at"])
        stem = time.strftime("%Y%m%d-%H%M%S", time.localtime(at)) + f"-{int(at * 1e6) % 1_000_000:06d}"
        path = self.folder / f"{stem}.json"
        tmp = self.folder / f".{stem}.{os.getpid()}.tmp"
        tmp.write_text(json.dumps(record, indent=1, ensure_ascii=False), encoding="utf-8")
        os.replace(tmp, path)
        return path

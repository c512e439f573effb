"""Where known sources land in one ranked list of files: hit@1, hit@5, reciprocal rank, wrong sources in the top 5.

Used by the personal evaluation, whose judgements are files the user marked right or wrong rather than graded
documents: one question's outcome is the rank of its first right file and the wrong files ranked near the top.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

TOP = 5  # how far down a wrong source still counts as shown to the user


@dataclass(frozen=True, slots=True)
class RankOutcome:
    rank: int | None  # 1-based rank of the first expected file within the first k; None: not there (or none expected)
    k: int
    expected: int  # how many expected files the case has (0: only wrong ones are known)
    wrong_in_top: tuple[str, ...]  # wrong files ranked in the top TOP, in rank order

    @property
    def hit_at_1(self) -> bool:
        return self.rank == 1

    @property
    def hit_at_5(self) -> bool:
        return self.rank is not None and self.rank <= TOP

    @property
    def reciprocal_rank(self) -> float:
        return 1.0 / self.rank if self.rank is not None else 0.0


def fold_paths(paths: Iterable[str]) -> list[str]:
    """Chunk hits' paths as a ranked list of files: each file at the rank of its best chunk."""
    seen: dict[str, None] = {}
    for path in paths:
        seen.setdefault(path, None)
    return list(seen)


def rank_outcome(ranked: Sequence[str], expected: Iterable[str], wrong: Iterable[str], k: int = 10) -> RankOutcome:
    """Where the first of ``expected`` lands in ``ranked`` and which of ``wrong`` made the top 5.

    ``ranked`` is files, best first; only its first ``k`` count for the rank.
    """
    want, bad = set(expected), set(wrong)
    rank = next((i for i, path in enumerate(ranked[:k], 1) if path in want), None) if want else None
    return RankOutcome(rank, k, len(want), tuple(p for p in ranked[:TOP] if p in bad))


@dataclass(frozen=True, slots=True)
class Overall:
    cases: int  # cases with at least one expected file: the denominator of the three rates
    hit_at_1: float
    hit_at_5: float
    mrr: float
    wrong_in_top: int  # wrong files in a top 5, over every case
    cases_with_wrong: int  # cases whose top 5 held at least one wrong file

    def as_dict(self) -> dict[str, float | int]:
        return {"cases": self.cases, "hit_at_1": self.hit_at_1, "hit_at_5": self.hit_at_5, "mrr": self.mrr,
                "wrong_in_top5": self.wrong_in_top, "cases_with_wrong_in_top5": self.cases_with_wrong}


def overall(outcomes: Iterable[RankOutcome]) -> Overall:
    """Rates averaged over the cases that expect a file; wrong files counted over every case."""
    every = list(outcomes)
    scored = [o for o in every if o.expected]
    n = len(scored)
    return Overall(n, sum(o.hit_at_1 for o in scored) / n if n else 0.0,
                   sum(o.hit_at_5 for o in scored) / n if n else 0.0,
                   sum(o.reciprocal_rank for o in scored) / n if n else 0.0,
                   sum(len(o.wrong_in_top) for o in every), sum(bool(o.wrong_in_top) for o in every))

"""Usage statistics over stored turns, per day and per model: what a dashboard of Deskmate's own behaviour shows."""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from typing import Any, NamedTuple


class Row(NamedTuple):
    started: float
    model: str | None
    mode: str | None
    latency_ms: float | None
    tokens_in: int | None
    tokens_out: int | None
    cache_hit: int | None
    fallback_reason: str | None
    top_score: float | None
    feedback: str | None


def percentile(values: Sequence[float], p: float) -> float | None:
    """The ``p``-th percentile (0-100), interpolated linearly between the closest ranks; None for no values."""
    ordered = sorted(values)
    if not ordered:
        return None
    pos = (len(ordered) - 1) * p / 100
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return round(ordered[low] + (ordered[high] - ordered[low]) * (pos - low), 4)


def reason_kind(reason: str) -> str:
    """A fallback reason without its particulars: "timeout: model x: ..." counts as "timeout"."""
    head, sep, _ = reason.partition(":")
    if sep and " " not in head.strip() and len(head) <= 32:
        return head.strip()
    return reason if len(reason) <= 60 else reason[:57] + "..."


def _aggregate(rows: Sequence[Row]) -> dict[str, Any]:
    latencies = [r.latency_ms for r in rows if r.latency_ms is not None]
    scores = [r.top_score for r in rows if r.top_score is not None]
    fallbacks = [r for r in rows if r.mode == "fallback"]
    reasons = Counter(reason_kind(r.fallback_reason) for r in fallbacks if r.fallback_reason)
    n = len(rows)
    return {
        "turns": n,
        "latency_p50_ms": percentile(latencies, 50),
        "latency_p95_ms": percentile(latencies, 95),
        "tokens_in": sum(r.tokens_in or 0 for r in rows),
        "tokens_out": sum(r.tokens_out or 0 for r in rows),
        "cache_hit_rate": round(sum(1 for r in rows if r.cache_hit) / n, 4) if n else None,
        "fallback_rate": round(len(fallbacks) / n, 4) if n else None,
        "fallback_reasons": dict(reasons.most_common(10)),
        "top_score": {"min": min(scores, default=None), "p25": percentile(scores, 25),
                      "p50": percentile(scores, 50), "p75": percentile(scores, 75), "max": max(scores, default=None)},
        "thumbs_up": sum(1 for r in rows if r.feedback == "up"),
        "thumbs_down": sum(1 for r in rows if r.feedback == "down"),
    }


def aggregate(rows: Sequence[Row], days: int) -> dict[str, Any]:
    """Totals, one entry per local calendar day with turns, and one per model (turns without a model: "none")."""
    by_day: dict[str, list[Row]] = defaultdict(list)
    by_model: dict[str, list[Row]] = defaultdict(list)
    for row in rows:
        by_day[time.strftime("%Y-%m-%d", time.localtime(row.started))].append(row)
        by_model[row.model or "none"].append(row)
    return {
        "days": days,
        "total": _aggregate(rows),
        "by_day": [{"day": day, **_aggregate(group)} for day, group in sorted(by_day.items())],
        "by_model": [{"model": model, **_aggregate(group)} for model, group in sorted(by_model.items())],
    }

"""TraceStore: every finished turn as a span tree in SQLite (traces.sqlite3), redacted, pruned, queryable.

One row per turn (question, mode, model, tokens, timings, cache hit, fallback reason, feedback) and one row per span
(the root "turn" and a child per graph node, attributes as JSON; see spans.py for what they hold and what is
withheld). Secrets are masked in everything stored. Old turns go by age and by count, checked every
``PRUNE_EVERY`` inserts, so recording a turn stays a single small transaction. With an ``exporter``
(otel_export.py) each stored tree is also sent on to the user's OpenTelemetry collector, as stored.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agents.observability import trace_stats
from agents.observability.spans import Scrubber, Span, build, summary
from tools.dbfile import set_aside_if_damaged
from tools.errors import ConfigError, DeskmateError

if TYPE_CHECKING:
    from agents.observability.otel_export import OtelExporter
    from agents.observability.telemetry import TraceEvent
    from agents.providers.outbound import SentPayload
    from agents.runner import TurnDone

PRUNE_EVERY = 100
RATINGS = ("up", "down")
SOURCE_VERDICTS = ("right", "wrong")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS turns (
    id TEXT PRIMARY KEY, thread_id TEXT, started REAL NOT NULL, question TEXT, mode TEXT, model TEXT,
    provider TEXT, prompt_id TEXT, prompt_version TEXT, tokens_in INTEGER, tokens_out INTEGER, ttft_ms REAL,
    latency_ms REAL, cache_hit INTEGER, fallback_reason TEXT, top_score REAL, feedback TEXT, feedback_sources TEXT
);
CREATE INDEX IF NOT EXISTS turns_started ON turns (started);
CREATE TABLE IF NOT EXISTS spans (
    turn_id TEXT NOT NULL REFERENCES turns (id) ON DELETE CASCADE, span_id INTEGER NOT NULL, parent_id INTEGER,
    name TEXT NOT NULL, started REAL, duration_ms REAL, attributes TEXT, PRIMARY KEY (turn_id, span_id)
) WITHOUT ROWID;
"""
_SUMMARY = ("id, thread_id, started, question, mode, model, provider, prompt_id, prompt_version, tokens_in, "
            "tokens_out, ttft_ms, latency_ms, cache_hit, fallback_reason, top_score, feedback")


class TraceStoreError(DeskmateError):
    """The trace database could not be read or written."""


class TraceNotFound(DeskmateError):
    """No stored trace has that id (it never existed, or it was pruned)."""


@dataclass(frozen=True, slots=True)
class TraceSummary:
    id: str
    thread_id: str | None
    started: float
    question: str | None  # None: withheld (trust.redact_documents)
    mode: str | None
    model: str | None
    provider: str | None
    prompt_id: str | None
    prompt_version: str | None
    tokens_in: int
    tokens_out: int
    ttft_ms: float | None
    latency_ms: float
    cache_hit: bool
    fallback_reason: str | None
    top_score: float | None
    feedback: str | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class TurnTrace:
    summary: TraceSummary
    feedback_sources: dict[str, str]
    root: Span

    def as_dict(self) -> dict[str, Any]:
        return {**self.summary.as_dict(), "feedback_sources": self.feedback_sources, "spans": self.root.as_dict()}


def _summary(row: tuple[Any, ...]) -> TraceSummary:
    values = list(row)
    values[9], values[10] = values[9] or 0, values[10] or 0
    values[13] = bool(values[13])
    return TraceSummary(*values)


class TraceStore:
    """Stored turn traces; safe to share between threads (one connection, one lock)."""

    def __init__(self, path: Path, *, max_turns: int = 5000, max_age_days: float = 90, redact_documents: bool = False,
                 redact_pii: bool = False, known: Callable[[], Iterable[str]] = lambda: (),
                 prune_every: int = PRUNE_EVERY, exporter: OtelExporter | None = None) -> None:
        self.exporter = exporter  # None unless the user configured a collector: then nothing is sent
        self.max_turns = max_turns
        self.max_age_days = max_age_days
        self.redact_documents = redact_documents
        self.redact_pii = redact_pii
        self._known = known  # the API key values in use: masked wherever they occur
        self._lock = threading.Lock()
        self._inserts = 0
        self._prune_every = prune_every
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            set_aside_if_damaged(path)
            self._db = sqlite3.connect(str(path), check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")  # a lost last trace after a power cut is acceptable
            self._db.execute("PRAGMA foreign_keys=ON")
            self._db.executescript(_SCHEMA)
        except sqlite3.Error as exc:
            raise TraceStoreError(f"cannot open the trace database {path}: {exc}") from exc
        self.prune()

    def close(self) -> None:
        if self.exporter is not None:
            self.exporter.shutdown()  # sends what is still queued
        with self._lock:
            self._db.close()

    @contextmanager
    def _sql(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            try:
                with self._db:
                    yield self._db
            except sqlite3.Error as exc:
                raise TraceStoreError(f"the trace database failed: {exc}") from exc

    # -- writing ---------------------------------------------------------------------------------------------------

    def record(self, question: str, done: TurnDone, traces: list[TraceEvent], sent: Iterable[SentPayload] = (),
               provider: str | None = None) -> str:
        """Store one finished turn; returns its trace id."""
        clean = Scrubber(documents=not self.redact_documents, pii=self.redact_pii, known=self._known())
        root = build(question, done, traces, sent, clean)
        row = summary(root, done)
        trace_id = uuid.uuid4().hex[:12]
        prompt_id, _, version = (done.prompt or "").partition("@")
        spans = [(trace_id, s.span_id, s.parent_id, s.name, s.started, s.duration_ms,
                  json.dumps(s.attributes, default=str)) for s in [root, *root.children]]
        with self._sql() as db:
            db.execute(
                "INSERT INTO turns (id, thread_id, started, question, mode, model, provider, prompt_id, "
                "prompt_version, tokens_in, tokens_out, ttft_ms, latency_ms, cache_hit, fallback_reason, top_score) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (trace_id, done.thread_id, root.started, None if self.redact_documents else root.attributes["question"],
                 done.mode, done.model, provider, prompt_id or None, version or None, row["tokens_in"],
                 row["tokens_out"], row["ttft_ms"], done.latency_ms, int(row["cache_hit"]),
                 root.attributes["fallback_reason"], row["top_score"]))
            db.executemany("INSERT INTO spans VALUES (?, ?, ?, ?, ?, ?, ?)", spans)
            self._inserts += 1
            due = self._inserts % self._prune_every == 0
        if due:
            self.prune()
        if self.exporter is not None:
            self.exporter.export(root, {"trace_id": trace_id, "provider": provider})
        return trace_id

    def prune(self) -> int:
        """Drop turns older than ``max_age_days`` and all but the newest ``max_turns``; returns how many went."""
        cutoff = time.time() - self.max_age_days * 86400
        with self._sql() as db:
            gone = db.execute("DELETE FROM turns WHERE started < ?", (cutoff,)).rowcount
            gone += db.execute("DELETE FROM turns WHERE id IN (SELECT id FROM turns ORDER BY started DESC "
                               "LIMIT -1 OFFSET ?)", (self.max_turns,)).rowcount
        return gone

    def set_feedback(self, trace_id: str, rating: str | None, sources: dict[str, str] | None = None) -> None:
        """Thumbs up or down (None clears it) and, per cited path, whether the source was right or wrong."""
        if rating is not None and rating not in RATINGS:
            raise ConfigError(f"feedback must be 'up', 'down' or none, not {rating!r}")
        bad = [v for v in (sources or {}).values() if v not in SOURCE_VERDICTS]
        if bad:
            raise ConfigError(f"a source is 'right' or 'wrong', not {bad[0]!r}")
        with self._sql() as db:
            changed = db.execute("UPDATE turns SET feedback = ?, feedback_sources = ? WHERE id = ?",
                                 (rating, json.dumps(sources or {}), trace_id)).rowcount
        if not changed:
            raise self._missing(trace_id)

    # -- reading ---------------------------------------------------------------------------------------------------

    def list(self, limit: int = 20, offset: int = 0) -> list[TraceSummary]:
        """Turns, newest first."""
        with self._sql() as db:
            rows = db.execute(f"SELECT {_SUMMARY} FROM turns ORDER BY started DESC LIMIT ? OFFSET ?",
                              (limit, offset)).fetchall()
        return [_summary(r) for r in rows]

    def get(self, trace_id: str) -> TurnTrace:
        """One turn with its span tree; TraceNotFound for an unknown id."""
        with self._sql() as db:
            row = db.execute(f"SELECT {_SUMMARY}, feedback_sources FROM turns WHERE id = ?", (trace_id,)).fetchone()
            spans = db.execute("SELECT span_id, parent_id, name, started, duration_ms, attributes FROM spans "
                               "WHERE turn_id = ? ORDER BY span_id", (trace_id,)).fetchall()
        if row is None:
            raise self._missing(trace_id)
        nodes = {s[0]: Span(s[0], s[1], s[2], s[3], s[4], json.loads(s[5] or "{}")) for s in spans}
        root = None
        for node in nodes.values():
            parent = nodes.get(node.parent_id) if node.parent_id is not None else None
            if parent is not None:
                parent.children.append(node)
            elif root is None:
                root = node
        return TurnTrace(_summary(row[:-1]), json.loads(row[-1] or "{}"), root or Span(0, None, "turn", row[2], 0.0))

    def rated(self) -> tuple[TurnTrace, ...]:
        """The turns the user rated (a thumb, or a source marked right or wrong), oldest first."""
        with self._sql() as db:
            ids = [r[0] for r in db.execute("SELECT id FROM turns WHERE feedback IS NOT NULL OR (feedback_sources "
                                            "IS NOT NULL AND feedback_sources != '{}') ORDER BY started").fetchall()]
        return tuple(self.get(i) for i in ids)

    def export(self, trace_id: str) -> str:
        """One turn's full record as JSON text."""
        return json.dumps(self.get(trace_id).as_dict(), indent=2, ensure_ascii=False)

    def stats(self, days: int = 30) -> dict[str, Any]:
        """Per-day and per-model aggregates over the last ``days`` days (see trace_stats.py), for a dashboard."""
        since = time.time() - days * 86400
        with self._sql() as db:
            rows = db.execute("SELECT started, model, mode, latency_ms, tokens_in, tokens_out, cache_hit, "
                              "fallback_reason, top_score, feedback FROM turns WHERE started >= ? ORDER BY started",
                              (since,)).fetchall()
        return trace_stats.aggregate([trace_stats.Row(*r) for r in rows], days)

    def _missing(self, trace_id: str) -> TraceNotFound:
        return TraceNotFound(f"no trace {trace_id!r}; `deskmate traces list` shows their ids")

"""The stores of what happened: the trace store (with its recorder and OpenTelemetry exporter) and the audit log."""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from agents.guard.audit import AuditLog
from agents.observability.traces import TraceStore, TraceStoreError
from app.settings import AppSettings, Paths

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from agents.observability.otel_export import OtelExporter
    from agents.observability.telemetry import TraceEvent
    from agents.providers.registry import ModelRegistry
    from agents.runner import Recorder, TurnDone

log = logging.getLogger(__name__)


def open_traces(settings: AppSettings, paths: Paths, known: Callable[[], Iterable[str]] = lambda: (),
                exporter: OtelExporter | None = None) -> TraceStore:
    trust = settings.trust
    return TraceStore(paths.data_dir / "traces.sqlite3", max_turns=trust.trace_max_turns,
                      max_age_days=trust.trace_max_days, redact_documents=trust.redact_documents,
                      redact_pii=trust.redact_pii, known=known, exporter=exporter)


def otel_exporter(settings: AppSettings) -> OtelExporter | None:
    """The exporter to the user's OpenTelemetry collector; None (and no OpenTelemetry object) without an endpoint."""
    trust = settings.trust
    if not trust.otel_endpoint:
        return None
    # Imported here: the SDK costs start-up time, and most users never configure a collector.
    from agents.observability.otel_export import OtelExporter

    try:
        return OtelExporter(trust.otel_endpoint, trust.otel_headers)
    except Exception as exc:  # the SDK's own errors: traces are still stored, only not sent
        log.warning("traces are not exported to %s: %s", trust.otel_endpoint, exc)
        return None


def session_traces(settings: AppSettings, paths: Paths, known: Callable[[], Iterable[str]]) -> TraceStore | None:
    """The agent's trace store: None when trust.traces is off, or (with a warning) when its database fails.

    With ``trust.otel_endpoint`` each recorded turn is also sent to that collector.
    """
    if not settings.trust.traces:
        return None
    exporter = otel_exporter(settings)
    try:
        return open_traces(settings, paths, known, exporter)
    except TraceStoreError as exc:
        log.warning("turns are not traced: %s", exc)
        if exporter is not None:
            exporter.shutdown()
        return None


def trace_recorder(store: TraceStore, registry: ModelRegistry) -> Recorder:
    """What the runner calls once per finished turn: the turn, its node traces and what remote models were sent."""

    def record(question: str, done: TurnDone, traces: list[TraceEvent]) -> str:
        started = min((t.started for t in traces), default=time.time() - done.latency_ms / 1000)
        provider = registry.execution_provider(done.model) if done.model else None
        return store.record(question, done, traces, sent=registry.outbound.log.since(started), provider=provider)

    return record


def audit_log(paths: Paths) -> AuditLog:
    """The audit log of this Deskmate home (the agent appends to it; this command only reads)."""
    return AuditLog(paths.data_dir / "audit.jsonl")

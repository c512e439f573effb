"""The ``traces`` command, and the trace store's composition root (settings in, a TraceStore and its recorder out)."""

from __future__ import annotations

import argparse
import logging
import time
from typing import TYPE_CHECKING, Any

from rich.table import Table

from agents.observability.traces import TraceStore, TraceStoreError
from app.console import cell, emit, out, styled
from app.settings import AppSettings, Paths

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from agents.observability.otel_export import OtelExporter
    from agents.observability.spans import Span
    from agents.observability.telemetry import TraceEvent
    from agents.providers.registry import ModelRegistry
    from agents.runner import Recorder, TurnDone

log = logging.getLogger(__name__)

# The attributes `traces show` prints beside each span (the JSON has them all).
_KEY_ATTRIBUTES = ("mode", "model", "intent", "cache_hit", "tokens_in", "tokens_out", "ttft_ms", "top_score",
                   "fallback_reason", "retrieval_error")


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


def run_traces(args: argparse.Namespace, settings: AppSettings, paths: Paths) -> int:
    store = open_traces(settings, paths)
    try:
        if args.traces_command == "show":
            trace = store.get(args.id)
            if args.json:
                emit(trace.as_dict())
                return 0
            s = trace.summary
            out.print(styled((f"trace {s.id}", "bold"), f"  {_when(s.started)}  thread {s.thread_id}"))
            out.print(f"question: {s.question if s.question is not None else '(withheld)'}")
            if s.feedback:
                out.print(f"feedback: {s.feedback}")
            for line in _tree(trace.root):
                out.print(line)
        elif args.traces_command == "stats":
            _print_stats(store.stats(args.days), as_json=args.json)
        else:
            rows = store.list(limit=args.limit)
            if args.json:
                emit([r.as_dict() for r in rows])
            elif not rows:
                out.print("no traces yet: each `deskmate ask` stores one (settings: [trust] traces)")
            for r in rows if not args.json else []:
                tokens = f"{r.tokens_in}/{r.tokens_out} tok" if r.tokens_in or r.tokens_out else "-"
                question = r.question if r.question is not None else "(withheld)"
                out.print(f"{r.id}  {_when(r.started)}  {r.mode or '-':<8}  {r.model or '-'}  {r.latency_ms:.0f} ms  "
                          f"{tokens}  {question}")
    finally:
        store.close()
    return 0


def _print_stats(stats: dict[str, Any], *, as_json: bool) -> None:
    if as_json:
        emit(stats)
        return
    total = stats["total"]
    if not total["turns"]:
        out.print(f"no traces in the last {stats['days']} days")
        return
    table = Table("", "turns", "p50 ms", "p95 ms", "tokens in/out", "cache", "fallback", "up/down",
                  title=f"the last {stats['days']} days")
    for label, group in [("all", total), *((m["model"], m) for m in stats["by_model"]),
                         *((d["day"], d) for d in stats["by_day"])]:
        table.add_row(cell(label), str(group["turns"]), f"{group['latency_p50_ms']:.0f}",
                      f"{group['latency_p95_ms']:.0f}", f"{group['tokens_in']}/{group['tokens_out']}",
                      f"{group['cache_hit_rate']:.0%}", f"{group['fallback_rate']:.0%}",
                      f"{group['thumbs_up']}/{group['thumbs_down']}")
    out.print(table)
    for reason, n in total["fallback_reasons"].items():
        out.print(f"  fallback {n}x: {reason}")


def _when(epoch: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(epoch))


def _short(value: Any) -> str:
    text = str(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _tree(span: Span, depth: int = 0) -> list[str]:
    """The span as an indented line per span: name, duration, key attributes; a node's details below it."""
    keys = [f"{k}={_short(span.attributes[k])}" for k in _KEY_ATTRIBUTES if span.attributes.get(k) not in (None, "")]
    lines = [f"{'  ' * depth}{span.name}  {span.duration_ms:.1f} ms" + (f"  {' '.join(keys)}" if keys else "")]
    pad = "  " * (depth + 2)
    for candidate in span.attributes.get("candidates", [])[:5]:
        lines.append(f"{pad}{candidate.get('score')}  {candidate.get('path')}")
    for call in span.attributes.get("calls", []):
        approval = f" ({call['approval']})" if call.get("approval") else ""
        lines.append(f"{pad}{call.get('name')}({_short(call.get('args'))}) -> {call.get('result_chars')} "
                     f"characters{approval}")
    for sent in span.attributes.get("sent", []):
        redacted = ", ".join(f"{n} {kind}" for kind, n in sent.get("redactions", {}).items()) or "nothing"
        lines.append(f"{pad}sent to {sent.get('model')}: {len(sent.get('messages', []))} messages, "
                     f"redacted: {redacted}")
    for child in span.children:
        lines += _tree(child, depth + 1)
    return lines

"""The ``traces`` and ``audit`` commands: what each turn did, and every side effect the assistant ran or was refused."""

from __future__ import annotations

import argparse
import time
from typing import TYPE_CHECKING, Any

from rich.table import Table

from app.console import cell, emit, out, styled
from app.settings import AppSettings, Paths
from app.wiring.traces import audit_log, open_traces

if TYPE_CHECKING:
    from agents.observability.spans import Span

# The attributes `traces show` prints beside each span (the JSON has them all).
_KEY_ATTRIBUTES = ("mode", "model", "intent", "cache_hit", "tokens_in", "tokens_out", "ttft_ms", "top_score",
                   "fallback_reason", "retrieval_error")


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


def run_audit(args: argparse.Namespace, settings: AppSettings, paths: Paths) -> int:
    entries = audit_log(paths).read(args.limit)
    if args.json:
        emit([e.as_dict() for e in entries])
        return 0
    if not entries:
        out.print("no side effects recorded yet: notes written, files or addresses opened, facts remembered "
                  "are listed here, allowed or not")
    for e in entries:
        arguments = ", ".join(f"{k}={str(v)[:60]!r}" for k, v in e.arguments.items())
        out.print(f"{e.time}  {e.decision:<8} by {e.decided_by:<6}  {e.tool}({arguments})  thread {e.thread or '-'}")
        out.print(f"    {e.reason}")
    return 0

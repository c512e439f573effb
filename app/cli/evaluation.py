"""The ``eval`` commands: retrieval on a test collection (with its baseline gate) and on the user's rated answers.

``eval answers`` (an answer set asked of the real agent) lives in answers.py.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from importlib import resources
from pathlib import Path
from typing import Any

from rich.table import Table

from agents import prompts
from agents.evaluation.feedback_cases import CaseSet, build_cases
from agents.evaluation.personal_eval import Fingerprint, RunComparison, RunStore, compare_runs, run_record, score_cases
from app.console import cell, emit, err, out, progress_bar
from app.settings import AppSettings, Paths
from app.wiring.index import open_index
from app.wiring.traces import open_traces
from tools.errors import ConfigError
from tools.eval.baseline import (
    ModeComparison,
    compare,
    dataset_name,
    failures,
    load_baselines,
    update_baseline,
)
from tools.eval.retrieval import evaluate, write_run_file
from tools.index.chunker import CHUNKER_VERSION
from tools.index.search import search


def run_eval(args: argparse.Namespace, settings: AppSettings, paths: Paths) -> int:
    if args.eval_command == "personal":
        return personal(args, settings, paths)
    if args.eval_command == "answers":
        from app.cli import answers  # imports LangGraph: only for the command that asks the agent

        return answers.run_answers(args, settings, paths)
    return retrieval(args, settings, paths)


def default_baseline_file() -> Path:
    """resources/eval/baselines.json: the figures CI's gate compares with, committed with the code."""
    return Path(str(resources.files("resources").joinpath("eval", "baselines.json")))


def retrieval(args: argparse.Namespace, settings: AppSettings, paths: Paths) -> int:
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    bad = [m for m in modes if m not in ("fts", "vector", "hybrid")]
    if bad or not modes:
        raise ConfigError(f"unknown mode(s) {', '.join(bad) or '(none)'}: use fts, vector, hybrid")
    baseline_file = args.baseline or default_baseline_file()
    name = dataset_name(args.dataset)
    stored = load_baselines(baseline_file).get(name) if args.gate or args.update_baseline else None
    if args.gate and not args.update_baseline and stored is None:  # said before the long run, not after it
        raise ConfigError(f"no baseline for {name!r} in {baseline_file}: store one with --update-baseline")
    with tempfile.TemporaryDirectory(prefix="deskmate-eval-") as tmp, progress_bar(not args.json) as progress:
        results = evaluate(lambda folder: open_index(settings, paths, folder), args.dataset, Path(tmp),
                           modes, progress)
    for result in results:
        if args.run_file:
            write_run_file(result.run, Path(f"{args.run_file}.{result.mode}"), f"deskmate-{result.mode}")
    now = {r.mode: r.ndcg_at_10 for r in results}
    comparisons = compare(now, stored or {}, args.tolerance) if stored is not None or args.update_baseline else []
    dropped = failures(comparisons) if args.gate and not args.update_baseline else []
    if args.update_baseline:
        update_baseline(baseline_file, name, now)
    if args.json:
        report: dict[str, object] = {"dataset": str(args.dataset), "results": [r.as_dict() for r in results]}
        if comparisons or args.gate:
            report["gate"] = {"dataset": name, "baseline_file": str(baseline_file), "tolerance": args.tolerance,
                              "modes": [c.as_dict() for c in comparisons], "passed": not dropped,
                              "baseline_updated": bool(args.update_baseline)}
        emit(report)
    else:
        table = Table("mode", "nDCG@10", "Recall@10", "Recall@100", "MRR@10", "queries", title=cell(args.dataset))
        for r in results:
            table.add_row(cell(r.mode), f"{r.ndcg_at_10:.3f}", f"{r.recall_at_10:.3f}", f"{r.recall_at_100:.3f}",
                          f"{r.mrr_at_10:.3f}", str(r.queries))
        out.print(table)
        if comparisons:
            _print_gate(comparisons, baseline_file, name, args.tolerance)
        if args.update_baseline:
            out.print(f"baseline for {name!r} written to {baseline_file}")
    for c in dropped:
        err.print(f"deskmate: retrieval gate failed: {c.message()}", markup=False, soft_wrap=True)
    if dropped:
        err.print("deskmate: if the change is intended, store the new figures with --update-baseline",
                  markup=False, soft_wrap=True)
    return 1 if dropped else 0


def _print_gate(comparisons: list[ModeComparison], baseline_file: Path, name: str, tolerance: float) -> None:
    table = Table("mode", "baseline", "now", "difference", "", title=cell(f"nDCG@10 against the baseline for {name} "
                  f"({baseline_file.name}, tolerance {tolerance:.3f})"))
    for c in comparisons:
        verdict = "no baseline" if c.baseline is None else "DROPPED" if c.dropped else "ok"
        table.add_row(cell(c.mode), "-" if c.baseline is None else f"{c.baseline:.4f}", f"{c.now:.4f}",
                      "-" if c.difference is None else f"{c.difference:+.4f}", verdict)
    out.print(table)


def _no_cases_message(cases: CaseSet, settings: AppSettings) -> str:
    if cases.rated:
        return (f"none of the {cases.rated} rated answers can be checked ({cases.withheld} with their question "
                f"withheld, {cases.unjudged} naming no source): rate answers with a thumbs up, or mark their sources "
                "right or wrong, in the desktop app")
    hint = "" if settings.trust.traces else " (turn [trust] traces back on first: without traces nothing is rated)"
    return ("no rated answers yet: in the desktop app, give answers a thumbs up or down and mark their sources "
            f"\"right\" or \"wrong\"; each rated question becomes a case{hint}")


def personal(args: argparse.Namespace, settings: AppSettings, paths: Paths) -> int:
    store = open_traces(settings, paths)
    try:
        cases = build_cases(store.rated())
    finally:
        store.close()
    skipped = {"rated": cases.rated, "withheld": cases.withheld, "unjudged": cases.unjudged}
    if not cases.cases:
        message = _no_cases_message(cases, settings)
        if args.json:
            emit({"cases": [], "skipped": skipped, "message": message})
        else:
            out.print(message)
        return 0
    index = open_index(settings, paths)
    try:
        identity = index.embedder.identity
        options = index.options
        fingerprint = Fingerprint(
            embedder=f"{identity.model_id} ({identity.recipe}, {identity.key})",
            chunking=f"{options.chunk_tokens} tokens, overlap {options.overlap_tokens}, chunker {CHUNKER_VERSION}",
            model=settings.models.default, prompt=prompts.load("answer_from_sources").ref)
        scored = score_cases(cases.cases, lambda q, n: [h.path for h in search(index, q, k=n)], args.k)
    finally:
        index.close()
    record = run_record(scored, fingerprint, args.k, skipped)
    runs = RunStore(paths.data_dir / "eval" / "personal")
    previous = runs.latest()
    saved = runs.save(record)
    comparison = compare_runs(previous, record) if previous else None
    if args.json:
        emit({**record, "saved": str(saved), "previous": comparison.as_dict() if comparison else None})
        return 0
    _print_personal(record, cases, comparison)
    out.print(f"saved as {saved}")
    return 0


def _print_personal(record: dict[str, Any], cases: CaseSet, comparison: RunComparison | None) -> None:
    k = record["k"]
    notes = []
    if cases.withheld:
        notes.append(f"{cases.withheld} skipped: question withheld ([trust] redact_documents)")
    if cases.unjudged:
        notes.append(f"{cases.unjudged} named no source to check")
    out.print(f"Personal evaluation: {len(cases.cases)} cases from {cases.rated} rated answers"
              + (f" ({'; '.join(notes)})" if notes else ""))
    table = Table()
    table.add_column("question", no_wrap=True)
    for header in ("rank", "hit", f"RR@{k}"):
        table.add_column(header, no_wrap=True)
    table.add_column("expected", overflow="fold", min_width=16)
    table.add_column("wrong in top 5", overflow="fold", min_width=16)
    for case in record["cases"]:
        table.add_row(cell(_short(case["question"], 28)), str(case["rank"] or "-"), _hit(case),
                      f"{case['reciprocal_rank']:.3f}", cell(", ".join(Path(p).name for p in case["expected"]) or "-"),
                      cell(", ".join(Path(p).name for p in case["wrong_in_top5"]) or "-"))
    out.print(table)
    total = record["overall"]
    out.print(f"Overall ({total['cases']} cases with an expected source): hit@1 {total['hit_at_1']:.3f}, "
              f"hit@5 {total['hit_at_5']:.3f}, MRR@{k} {total['mrr']:.3f}; wrong sources in a top 5: "
              f"{total['wrong_in_top5']} (in {total['cases_with_wrong_in_top5']} cases)")
    if comparison is None:
        out.print("first run: the next one is compared with it")
        return
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(comparison.previous_at))
    labels = {"hit_at_1": "hit@1", "hit_at_5": "hit@5", "mrr": f"MRR@{k}"}
    changes = ", ".join(f"{labels[m]} {b:.3f} -> {n:.3f} ({n - b:+.3f})" if m in labels else
                        f"wrong in top 5 {b:.0f} -> {n:.0f}" for m, (b, n) in comparison.overall.items())
    out.print(f"Since the run of {when}: {changes}")
    for label, group in (("improved", comparison.improved), ("regressed", comparison.regressed)):
        for change in group:
            out.print(f"  {label}: {change.describe()}")
    if comparison.new_cases or comparison.gone_cases:
        out.print(f"  {comparison.new_cases} new cases, {comparison.gone_cases} no longer rated")
    if not (comparison.improved or comparison.regressed):
        out.print("  no case moved")
    if comparison.fingerprint_changes:
        out.print("Setup changed: " + "; ".join(comparison.fingerprint_changes))
    else:
        out.print("Setup unchanged (embedder, chunking, default model, prompt version)")


def _short(text: str, width: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[:width - 3] + "..."


def _hit(case: dict[str, Any]) -> str:
    """``@1``, ``@5`` or ``no`` for a case's expected sources; ``-`` when it expects none (only wrong ones)."""
    if not case["expected"]:
        return "-"
    return "@1" if case["hit_at_1"] else "@5" if case["hit_at_5"] else "no"

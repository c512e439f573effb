"""The ``overview``, ``index``, ``search`` and ``index watch`` commands: the knowledge index on the terminal."""

from __future__ import annotations

import argparse
import time
from datetime import datetime

from rich.table import Table

from agents.providers import default_model
from app.console import cell, emit, err, out, progress_bar, styled
from app.settings import AppSettings, Paths
from app.wiring.index import open_index
from app.wiring.models import model_readiness
from tools.errors import ConfigError, IndexBusy
from tools.index.knowledge import KnowledgeIndex
from tools.index.roots import add_roots
from tools.index.search import SearchFilters, search
from tools.index.status import IndexStatus
from tools.index.watcher import IndexWatcher


def run_overview(args: argparse.Namespace, settings: AppSettings, paths: Paths) -> int:
    """``deskmate overview``, and plain ``deskmate`` where no window can open (it then says so)."""
    return show_overview(settings, paths, no_display=args.command is None)


def show_overview(settings: AppSettings, paths: Paths, *, no_display: bool = False) -> int:
    index = open_index(settings, paths)
    try:
        status = index.status_report()
        # Loading the embedder prepares the bundled model on first run and tells where it really runs.
        provider = index.embedder.execution_provider
    finally:
        index.close()
    out.print(styled(("Deskmate", "bold"), ": a local-first copilot for your desktop."))
    out.print(f"Data: {paths.data_dir}   Settings: {paths.settings_file}   Log: {paths.log_file}")
    out.print(f"Embedder: {status.embedder['model']} (int8) ready on {provider}.")
    out.print(f"Index: {len(status.roots)} roots, {status.files} files, {status.chunks} chunks, "
              f"{status.failed} failed.")
    model = settings.models.default
    ready, why = model_readiness(settings, paths)
    if model != default_model.DEFAULT_NAME:
        state = "configured (`deskmate models list` checks it)"
    else:
        state = "ready" if ready else f"{why}: run `deskmate models install-default`"
    out.print(f"Model: {model} {state}.")
    if not status.roots:
        out.print("Start with: deskmate index add ~/Documents --sync   then   deskmate ask \"your question\"")
    if no_display:
        out.print("No display found, so the desktop app did not open: use the commands (ask, chat, search, index), "
                  "or run `deskmate` in a desktop session.")
    return 0


def run_index(args: argparse.Namespace, settings: AppSettings, paths: Paths) -> int:
    action = args.index_command
    if action == "watch":
        return watch(settings, paths)
    index = open_index(settings, paths)
    try:
        if action == "add":
            report = add_roots(index, args.paths, args.include, args.exclude)
            for outcome in report.outcomes:
                if not outcome.error:
                    out.print(outcome.message)
            errors = [o.message for o in report.outcomes if o.error]
            if errors:
                raise ConfigError(" ".join(errors))
            if args.sync:
                return _sync(index, as_json=False, retry_failed=False)
            out.print("run `deskmate index sync` to index it now")
        elif action == "remove":
            if not index.remove_root(args.path):
                raise ConfigError(f"{args.path} is not an index root (see `deskmate index list`)")
            out.print(f"removed {args.path} and its indexed files")
        elif action == "list":
            roots = index.roots()
            if args.json:
                emit([{"path": r.path, "include": list(r.include), "exclude": list(r.exclude)} for r in roots])
            else:
                for r in roots:
                    extra = "".join(f" +{g}" for g in r.include) + "".join(f" -{g}" for g in r.exclude)
                    out.print(f"{r.path}{extra}")
                if not roots:
                    out.print("no roots yet: deskmate index add PATH")
        elif action == "sync":
            return _sync(index, as_json=args.json, retry_failed=args.retry_failed)
        elif action == "status":
            _print_status(index.status_report(files=args.files), as_json=args.json)
        return 0
    finally:
        index.close()


def _sync(index: KnowledgeIndex, *, as_json: bool, retry_failed: bool) -> int:
    if not index.roots():
        raise ConfigError("no folders to index yet: add one with `deskmate index add PATH`")
    # One full pass (tools/index/roots.sync_roots goes root by root for the app's per-root bars, then a full pass):
    # on the terminal one pass and one set of bars are enough, and a no-op sync scans the folders once.
    with progress_bar(not as_json) as progress:
        try:
            report = index.sync(progress=progress, retry_failed=retry_failed, wait=0)
        except IndexBusy as busy:
            err.print(f"{busy}; waiting for it...")
            report = index.sync(progress=progress, retry_failed=retry_failed)
    if as_json:
        emit(report.as_dict())
        return 0
    out.print(
        f"scanned {report.scanned} files: {report.added} added, {report.changed} changed, {report.removed} removed, "
        f"{report.unchanged} unchanged, {report.failed} failed; {report.chunks_embedded} chunks embedded "
        f"({report.chunks_reused} reused) in {report.seconds:.1f} s"
    )
    if report.repaired:
        out.print(styled((f"the index was repaired: {report.repaired}", "yellow")))
    for failure in report.failures:
        out.print(styled("  ", ("failed", "red"), f" {failure['path']}: {failure['reason']}"))
    for link in report.skipped_links:
        out.print(styled("  ", ("skipped", "yellow"), f" {link['path']}: {link['reason']}"))
    return 0


def _print_status(status: IndexStatus, *, as_json: bool) -> None:
    if as_json:
        emit(status.as_dict())
        return
    last = status.last_sync
    when = datetime.fromtimestamp(last).strftime("%Y-%m-%d %H:%M:%S") if last else "never"
    emb = status.embedder
    out.print(f"{status.files} files, {status.chunks} chunks, {status.failed} failed; last sync {when}")
    out.print(f"embedder {emb['model']} ({emb['recipe']}, {emb['dims']} dims); data in {status.data_dir}")
    if status.rebuilding_to:
        out.print(styled(("rebuilding for a new embedder or chunker: searches use full-text only until "
                          "`deskmate index sync` completes", "yellow")))
    for root in status.roots:
        out.print(f"  root {root.path}: {root.files} files")
    for failure in status.failures:
        out.print(styled("  ", ("failed", "red"), f" {failure.path}: {failure.reason}"))
    if status.links_skipped:
        out.print(styled(f"{status.links_skipped} links skipped (not followed, so not indexed):"))
    for link in status.skipped_links:
        out.print(styled("  ", ("skipped", "yellow"), f" {link.path}: {link.reason}"))
    if status.file_list is not None:
        table = Table("path", "state", "chunks", "type")
        for row in status.file_list:
            table.add_row(cell(row.path), cell(row.state), cell(row.chunks), cell(row.type or ""))
        out.print(table)


def run_search(args: argparse.Namespace, settings: AppSettings, paths: Paths) -> int:
    filters = SearchFilters(
        roots=tuple(str(p.expanduser().resolve()) for p in args.root),
        path_glob=args.glob,
        file_types=tuple(args.types),
        modified_after=args.after,
        modified_before=args.before,
    )
    index = open_index(settings, paths)
    try:
        started = time.perf_counter()
        hits = search(index, args.query, k=args.k, mode=args.mode, filters=filters)
        elapsed = time.perf_counter() - started
    finally:
        index.close()
    if args.json:
        emit({"query": args.query, "mode": args.mode, "ms": round(elapsed * 1000, 1),
               "results": [h.as_dict() for h in hits]})
        return 0
    if not hits:
        out.print("no results")
    for rank, hit in enumerate(hits, 1):
        where = hit.path
        if hit.page is not None:
            where += f" p.{hit.page}"
        if hit.line_start is not None:
            where += f":{hit.line_start}-{hit.line_end}"
        out.print(styled((f"{rank}. {where}", "bold"), f"  ({hit.score:.3f})"))
        if hit.heading:
            out.print(f"   {hit.heading}")
        out.print(f"   {hit.snippet}")
    return 0


def watch(settings: AppSettings, paths: Paths) -> int:
    index = open_index(settings, paths)
    try:
        if not index.roots():
            raise ConfigError("no folders to watch yet: add one with `deskmate index add PATH`")

        def report(summary: str) -> None:
            out.print(f"{datetime.now():%H:%M:%S} {summary}")
            out.file.flush()  # a log piped to a file or another program should see each line as it happens

        watcher = IndexWatcher(index, reconcile_seconds=settings.index.reconcile_minutes * 60, on_sync=report)
        def started() -> None:
            out.print(f"watching {len(index.roots())} roots; Ctrl+C to stop")
            out.file.flush()

        watcher.run_forever(on_started=started)
    finally:
        index.close()
    return 0

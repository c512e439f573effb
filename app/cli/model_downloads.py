"""The ``models catalog``, ``models download`` and ``models delete`` commands: the curated models and their files."""

from __future__ import annotations

import argparse
import threading
from typing import Any

from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.table import Column, Table

from agents.providers.manager import catalog as curated
from agents.providers.manager import download as downloads
from app.console import cell, emit, err, out, styled
from app.settings import AppSettings, Paths, save_settings
from tools.errors import ConfigError


def run(args: argparse.Namespace, settings: AppSettings, paths: Paths) -> int:
    action = args.models_command
    if action == "catalog":
        return show_catalog(settings, paths, show_all=args.all, as_json=args.json)
    if action == "download":
        return download(settings, paths, args.name, device=args.device, as_json=args.json)
    if action == "delete":
        return delete(settings, paths, args.name)
    raise ConfigError(f"unknown models action {action}")


def _size(size: int | float) -> str:
    return f"{size / 1e9:.1f} GB" if size >= 1e9 else f"{size / 1e6:.0f} MB"


def _tokens(count: int) -> str:
    return f"{count // 1024}k" if count >= 1024 else str(count)


def show_catalog(settings: AppSettings, paths: Paths, *, show_all: bool, as_json: bool) -> int:
    entries = curated.load_catalog(settings.models.catalog_file)
    here = curated.machine(paths.models_dir)
    have = set(downloads.installed(paths.models_dir))
    rows: list[dict[str, Any]] = []
    for entry in entries:
        fit = curated.fits(entry, here)
        variant = fit.variant or entry.variant(fit.device)
        rows.append({
            "name": entry.name, "title": entry.title, "publisher": entry.publisher, "repo": entry.repo,
            "revision": entry.revision, "verified": entry.verified, "params_b": entry.params_b,
            "device": fit.device, "size_bytes": variant.size_bytes if variant else None,
            "ram_gb": entry.ram_gb, "vram_gb": entry.vram_gb, "context_length": entry.context_length,
            "licence": entry.licence, "good_at": entry.good_at, "card_url": entry.card_url,
            "devices": entry.devices, "fits": fit.fits, "reason": fit.reason,
            "installed": any(downloads.folder(paths.models_dir, entry, v) in have for v in entry.variants),
        })
    shown = rows if show_all else [r for r in rows if r["fits"] or r["installed"]]
    hidden = len(rows) - len(shown)
    best = curated.recommend(entries, here)
    if as_json:
        emit({"machine": {"ram_bytes": here.ram_bytes, "free_disk_bytes": here.free_disk_bytes,
                          "gpu": here.gpu_name, "vram_free_bytes": here.vram_free_bytes},
              "recommended": best.entry.name if best else None, "hidden": hidden, "models": shown})
        return 0
    table = Table("params", "disk", "needs", "context", "runs on", "verified", "here")
    table.columns.insert(0, Column("model", no_wrap=True))  # the name to download must never be cut
    for row in shown:
        needs = f"{row['ram_gb']:g} GB RAM" if row["device"] == "cpu" else f"{row['vram_gb'] or '?'} GB VRAM"
        runs = row["device"] if row["fits"] else "no"
        table.add_row(cell(row["name"]), f"{row['params_b']:g}B",
                      _size(row["size_bytes"]) if row["size_bytes"] else "-", cell(needs),
                      _tokens(row["context_length"]), cell(runs),
                      "yes" if row["verified"] else "no", "installed" if row["installed"] else "-")
    out.print(table)
    for row in shown:
        line = row["good_at"] if row["fits"] else f"does not fit: {row['reason']}"
        out.print(f"{row['name']}: {line} (licence: {row['licence']})")
    if hidden:
        out.print(f"{hidden} more do not fit this machine (RAM, VRAM or free disk); "
                  "`deskmate models catalog --all` lists them with the reason")
    if best is not None and best.variant is not None:
        minutes = curated.download_seconds(best.variant.size_bytes) / 60
        out.print(f"recommended here: {best.entry.name} ({_size(best.variant.size_bytes)}, about "
                  f"{max(1, round(minutes))} min to download at 20 MB/s): deskmate models download {best.entry.name}")
    if any(not r["verified"] for r in shown):
        out.print("unverified: the files or revision could not be confirmed from the publisher's card; the "
                  "download still checks every file against the hub's checksums")
    return 0


def download(settings: AppSettings, paths: Paths, name: str, *, device: str | None, as_json: bool) -> int:
    entry = curated.find(curated.load_catalog(settings.models.catalog_file), name)
    fit = curated.fits(entry, curated.machine(paths.models_dir), device)
    if not fit.fits:
        raise ConfigError(f"{entry.name} does not fit this machine on {fit.device}: {fit.reason}; "
                          "`deskmate models catalog` lists the ones that do")
    cancel = threading.Event()
    finished = threading.Event()
    outcome: dict[str, Any] = {}
    show = not as_json and err.is_terminal
    columns = (TextColumn("{task.description}", markup=False), BarColumn(), DownloadColumn(),
               TransferSpeedColumn(), TimeRemainingColumn())
    with Progress(*columns, console=err, transient=True, disable=not show) as bar:
        task = bar.add_task(entry.name, total=None)
        shown = {"what": "", "tenth": -1}

        def progress(what: str, done: int, total: int) -> None:
            bar.update(task, description=what, completed=done, total=total or None)
            if show or as_json:
                return
            # Piped output: a line per tenth of the bytes, and the check; no line per file verified.
            if what.startswith("downloading"):
                tenth = done * 10 // total if total else 0
                if tenth != shown["tenth"]:
                    shown["tenth"] = tenth
                    err.print(f"{what} ({_size(done)} of {_size(total)})")
            elif not what.startswith("verifying") and what != shown["what"]:
                shown["what"] = what
                err.print(what)

        def work() -> None:
            try:
                outcome["result"] = downloads.download(entry, fit.device, paths.models_dir, paths.models_catalog,
                                                       progress=progress, cancel=cancel)
            except BaseException as exc:  # handed to the main thread, which raises it
                outcome["error"] = exc
            finally:
                finished.set()

        threading.Thread(target=work, name="model-download", daemon=True).start()
        try:
            while not finished.wait(0.2):
                pass
        except KeyboardInterrupt:
            cancel.set()  # the download stops at its next chunk and keeps what it fetched
            err.print("stopping...")
            finished.wait()
    error = outcome.get("error")
    if isinstance(error, downloads.Cancelled):
        err.print(styled((str(error), "yellow")))
        return 130
    if error is not None:
        raise error
    result: downloads.DownloadResult = outcome["result"]
    if as_json:
        emit(result.as_dict())
        return 0
    if result.downloaded:
        resumed = f", {_size(result.resumed_bytes)} of it from an earlier try" if result.resumed_bytes else ""
        out.print(f"downloaded {result.name} ({result.device} {result.precision}, {_size(result.size_bytes)}"
                  f"{resumed}) in {result.seconds:.0f} s; it answered: {result.check_answer}")
    else:
        out.print(f"{result.name} ({result.device} {result.precision}) is already downloaded and verified at "
                  f"{result.path}")
    if settings.models.large is None and settings.models.default != result.name:
        # The user picked this model to be used: hard requests go to it from now on (the router's "large" model).
        settings.models.large = result.name
        save_settings(settings, paths)
        out.print(f"hard requests now go to {result.name} (models.large in {paths.settings_file}); "
                  f"ask it directly with: deskmate ask --model {result.name} \"...\"")
    else:
        out.print(f"use it: deskmate ask --model {result.name} \"...\", or set models.large = \"{result.name}\" in "
                  f"{paths.settings_file} to send hard requests to it")
    return 0


def delete(settings: AppSettings, paths: Paths, name: str) -> int:
    freed = downloads.delete(name, paths.models_dir, paths.models_catalog)
    full = name if name.startswith("local/") else f"local/{name}"
    out.print(f"deleted {full}: {_size(freed)} of disk freed")
    if settings.models.large == full:  # the router would try a model that is gone on every hard request
        settings.models.large = None
        save_settings(settings, paths)
        out.print(f"models.large named {full}; it is unset now, so hard requests go to models.default")
    named = [key for key, value in (("models.default", settings.models.default),) if value == full] + (
        ["models.fallbacks"] if full in settings.models.fallbacks else [])
    if named:
        err.print(f"{', '.join(named)} in {paths.settings_file} still name {full}: change them")
    return 0

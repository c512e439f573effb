"""``models found``, ``models import`` and ``providers detect``: the models and servers already on this machine."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Column, Table

from agents.providers.manager import discovery, gguf_header, importer
from app.console import cell, emit, err, out, styled
from app.settings import AppSettings, Paths
from app.wiring.models import add_provider
from tools.errors import ConfigError


def run(args: argparse.Namespace, settings: AppSettings, paths: Paths) -> int:
    action = args.models_command
    if action == "found":
        return found(as_json=args.json)
    if action == "import":
        return import_one(args, paths)
    raise ConfigError(f"unknown models action {action}")


def _size(size: float) -> str:
    return f"{size / 1e9:.1f} GB" if size >= 1e9 else f"{size / 1e6:.0f} MB"


def found(*, as_json: bool) -> int:
    models = discovery.scan_disk()
    if as_json:
        emit([m.as_dict() for m in models])
        return 0
    if not models:
        out.print("no model files found (looked in Ollama's store, LM Studio, GPT4All, Jan and the Hugging Face "
                  "cache)")
        return 0
    table = Table("source", "format", "architecture", "params", "size", "importable")
    table.columns.insert(1, Column("model", no_wrap=True))  # the name to import must never be cut
    table.columns[1].overflow = "fold"
    for m in models:
        table.add_row(cell(m.source), cell(m.name), cell(m.format), cell(m.architecture or "-"),
                      gguf_header.format_params(m.params) if m.params else "-", _size(m.size_bytes),
                      "yes" if m.importable else "no")
    out.print(table)
    for m in models:
        if m.importable:
            out.print(f"{m.name}: deskmate models import {m.import_as}")
        else:
            out.print(styled(f"{m.name}: ", ("not importable", "yellow"), f": {m.reason}"))
    return 0


def import_one(args: argparse.Namespace, paths: Paths) -> int:
    plan = importer.plan_import(str(args.path), args.precision, args.name, models_dir=paths.models_dir)
    if not plan.supported:
        raise ConfigError(plan.summary())
    if plan.kind == "gguf" and not args.yes:
        if not sys.stdin.isatty():
            raise ConfigError(f"{plan.summary()}. Nothing was converted: pass --yes to convert without a question")
        err.print(plan.summary())
        err.print("Convert it now? [y/N] ", end="")
        answer = sys.stdin.readline().strip().lower()
        if answer not in ("y", "yes"):
            err.print("nothing was converted")
            return 1
    elif not args.json:
        err.print(plan.summary())
    show = not args.json and err.is_terminal
    with Progress(TextColumn("{task.description}", markup=False), BarColumn(), TimeElapsedColumn(), console=err,
                  transient=True, disable=not show) as bar:
        task = bar.add_task("import", total=5)

        def progress(stage: str, number: int, total: int) -> None:
            bar.update(task, description=stage, completed=number - 1, total=total)
            if not show and not args.json:
                err.print(f"[{number}/{total}] {stage}")

        result = importer.import_model(plan, paths.models_dir, paths.models_catalog, progress=progress)
    if args.json:
        emit({**result.as_dict(), "plan": plan.as_dict()})
        return 0
    if result.kind == "gguf":
        out.print(f"imported {result.spec.name} ({result.precision}, {_size(result.size_bytes)}) in "
                  f"{result.seconds:.0f} s at {result.path}; it answered: {result.check_answer}")
    else:
        out.print(f"added {result.spec.name} ({result.path}, context {result.spec.context_length} tokens)")
    out.print(f"try it: deskmate ask --model {result.spec.name} \"...\"; to send hard requests to it, set "
              f"models.large = \"{result.spec.name}\" in {paths.settings_file}")
    return 0


def detect(args: argparse.Namespace, settings: AppSettings, paths: Paths) -> int:
    servers = settings.models.detect_servers
    found = discovery.detect_servers(servers)
    rows: list[dict[str, Any]] = [s.as_dict() for s in found]
    if args.add:
        for row, server in zip(rows, found, strict=True):
            row["added"], row["skipped"] = [], []
            if server.error:
                continue
            for model in server.models:
                try:
                    spec, _ = add_provider(paths, server.name, server.base_url, model)
                except ConfigError as exc:
                    row["skipped"].append({"model": model, "reason": str(exc)})
                    continue
                row["added"].append(spec.name)
    if args.json:
        emit(rows)
        return 0
    if not found:
        looked = ", ".join(f"{name} ({address})" for name, address in servers.items())
        out.print(f"no model server answered on this machine; looked for {looked or 'none (models.detect_servers)'}")
        return 0
    table = Table("server", "address", "models")
    for server in found:
        models = (", ".join(server.models) or "(no models)") if not server.error else f"error: {server.error}"
        table.add_row(cell(server.name), cell(server.base_url), cell(models))
    out.print(table)
    if not args.add:
        if any(s.models for s in found):
            out.print("add them all with `deskmate providers detect --add`")
        return 0
    for row in rows:
        for name in row.get("added", []):
            out.print(f"added {name} at {row['base_url']}")
        for skipped in row.get("skipped", []):
            out.print(styled(("skipped", "yellow"), f" {row['name']}/{skipped['model']}: {skipped['reason']}"))
    return 0

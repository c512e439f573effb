"""The ``models``, ``providers``, ``keys`` and ``generate`` commands (the registry itself is wired in app.wiring)."""

from __future__ import annotations

import argparse
import dataclasses
import getpass
import sys

from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from agents.providers import catalog, default_model
from agents.providers.completion import complete
from agents.providers.errors import ModelNotInstalled
from app.console import cell, emit, err, out, printable, styled
from app.secrets import KeyringSecretStore, SecretStore
from app.settings import AppSettings, Paths
from app.wiring.models import add_local_model, add_provider, open_models
from tools.errors import ConfigError


def run_models(args: argparse.Namespace, settings: AppSettings, paths: Paths) -> int:
    action = args.models_command
    if action == "install-default":
        return install_default(settings, paths, precision=args.precision, force=args.force, as_json=args.json)
    if action == "list":
        return list_models(settings, paths, as_json=args.json, load=not args.no_load)
    if action == "add":
        return add_local(args, paths)
    if action in ("catalog", "download", "delete"):
        from app.cli import model_downloads

        return model_downloads.run(args, settings, paths)
    if action in ("found", "import"):
        from app.cli import model_imports

        return model_imports.run(args, settings, paths)
    if action == "remove":
        if not catalog.remove(paths.models_catalog, args.name):
            raise ConfigError(f"no model named {args.name!r} in {paths.models_catalog} (the default cannot be removed)")
        out.print(f"removed {args.name}")
        return 0
    raise ConfigError(f"unknown models action {action}")


def install_default(settings: AppSettings, paths: Paths, *, precision: str, force: bool, as_json: bool) -> int:
    show = not as_json and err.is_terminal
    with Progress(TextColumn("{task.description}", markup=False), BarColumn(), TimeElapsedColumn(), console=err,
                  transient=True, disable=not show) as bar:
        task = bar.add_task("default model", total=5)

        def progress(stage: str, number: int, total: int) -> None:
            bar.update(task, description=stage, completed=number - 1, total=total)
            if not show and not as_json:
                err.print(f"[{number}/{total}] {stage}")

        result = default_model.install(paths.models_dir, precision, force=force, progress=progress)  # type: ignore[arg-type]
    data = {
        "name": result.name,
        "path": str(result.path),
        "precision": result.precision,
        "installed": result.installed,
        "size_mb": round(result.size_bytes / 1e6, 1),
        "seconds": round(result.seconds, 1),
        "check_answer": result.check_answer,
    }
    if as_json:
        emit(data)
    elif result.installed:
        out.print(f"installed {result.name} ({result.precision}, {data['size_mb']} MB) in {data['seconds']} s "
                  f"at {result.path}; it answered: {result.check_answer}")
        if precision != settings.models.default_precision:
            out.print(f"to use it, set models.default_precision = \"{precision}\" in {paths.settings_file}")
    else:
        out.print(f"{result.name} ({result.precision}) is already installed and verified at {result.path}")
    return 0


def list_models(settings: AppSettings, paths: Paths, *, as_json: bool, load: bool) -> int:
    registry = open_models(settings, paths)
    rows = []
    for name in registry.names():
        status = registry.status(name, load=load)
        detail = status.detail
        if name == default_model.DEFAULT_NAME and status.status == "not_installed":
            detail = "run `deskmate models install-default`"
        rows.append({**dataclasses.asdict(status), "detail": detail, "default": name == settings.models.default})
    if as_json:
        emit(rows)
        return 0
    table = Table("model", "status", "runs on", "size", "speed", "context")
    for row in rows:
        mark = " *" if row["default"] else ""
        table.add_row(cell(row["name"] + mark), cell(row["status"]), cell(row["execution_provider"] or "-"),
                      cell(row["size"]), cell(row["speed"]), str(row["context_length"]))
    out.print(table)
    for row in rows:
        detail = row["detail"].removeprefix(f"{row['name']}: ")
        out.print(f"{row['name']}: {detail}")
    out.print("* the default model")
    return 0


def add_local(args: argparse.Namespace, paths: Paths) -> int:
    spec, replaced = add_local_model(paths, args.name, args.path, size=args.size, speed=args.speed,
                                     context=args.context)
    out.print(f"{'updated' if replaced else 'added'} {spec.name} ({spec.path}, context {spec.context_length} tokens)")
    return 0


def run_providers(args: argparse.Namespace, settings: AppSettings, paths: Paths) -> int:
    if args.providers_command == "detect":
        from app.cli import model_imports

        return model_imports.detect(args, settings, paths)
    if args.providers_command != "add":
        raise ConfigError(f"unknown providers action {args.providers_command}")
    spec, replaced = add_provider(paths, args.name, args.base_url, args.model, size=args.size, speed=args.speed,
                                  context=args.context)
    out.print(f"{'updated' if replaced else 'added'} {spec.name} at {spec.base_url}")
    out.print(f"if it needs an API key: deskmate keys set {args.name}")
    return 0


def run_keys(args: argparse.Namespace, settings: AppSettings, paths: Paths,
             secrets: SecretStore | None = None) -> int:
    store = secrets or KeyringSecretStore()
    if args.keys_command == "set":
        value = _read_key(args.name)
        store.set(args.name, value)
        out.print(f"stored the key {args.name!r} in the OS keychain ({store.backend_name()})")
        return 0
    if args.keys_command == "delete":
        if not store.delete(args.name):
            raise ConfigError(f"no key named {args.name!r} in the OS keychain")
        out.print(f"deleted the key {args.name!r}")
        return 0
    raise ConfigError(f"unknown keys action {args.keys_command}")


def _read_key(name: str) -> str:
    """From a hidden prompt on a terminal, or the first line of stdin (``echo $KEY | deskmate keys set NAME``)."""
    if sys.stdin.isatty():
        value = getpass.getpass(f"API key for {name} (input hidden): ")
    else:
        value = sys.stdin.readline()
    value = value.strip()
    if not value:
        raise ConfigError("no key given: nothing was stored")
    return value


def generate(args: argparse.Namespace, settings: AppSettings, paths: Paths) -> int:
    registry = open_models(settings, paths)
    name = args.model or settings.models.default
    spec = registry.spec(name)
    if spec.builtin and spec.path is not None and not default_model.verify(spec.path)[0]:
        raise ModelNotInstalled("the default model is not installed yet: run `deskmate models install-default`",
                                model=name)
    model = registry.chat_model(name)
    stream = not args.json and not args.quiet

    def show(text: str) -> None:
        sys.stdout.write(printable(text))  # model text: no escape sequence reaches the terminal
        sys.stdout.flush()

    result = complete(model, args.prompt, max_tokens=args.max_tokens, on_text=show if stream else None)
    if args.json:
        emit(result.as_dict())
        return 0
    if stream:
        sys.stdout.write("\n")
    else:
        out.print(result.text)
    ttft = f"{result.time_to_first_token_ms:.0f} ms" if result.time_to_first_token_ms is not None else "-"
    err.print(styled((f"{result.model} on {result.execution_provider}: {result.prompt_tokens} prompt tokens, "
                      f"{result.completion_tokens} generated, first token {ttft}, {result.tokens_per_s:.1f} tokens/s",
                      "dim")))
    return 0

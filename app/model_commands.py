"""The ``models``, ``providers``, ``keys`` and ``generate`` commands, and the model registry's composition root."""

from __future__ import annotations

import argparse
import dataclasses
import getpass
import logging
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import ValidationError
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from agents.providers import catalog, default_model
from agents.providers.completion import complete
from agents.providers.errors import ModelNotInstalled
from agents.providers.genai import GenAIModel, RuntimeOptions
from agents.providers.outbound import OutboundPolicy
from agents.providers.registry import ModelRegistry
from agents.providers.spec import ModelSpec
from app.console import cell, emit, err, out, printable, styled
from app.secrets import KeychainUnavailable, KeyringSecretStore, SecretStore
from app.settings import AppSettings, Paths
from tools.errors import ConfigError

log = logging.getLogger(__name__)


def open_models(settings: AppSettings, paths: Paths, secrets: SecretStore | None = None, *,
                separate_process: bool = False) -> ModelRegistry:
    """The composition root of the models: the embedded default plus the user's catalogue, keys from the keychain.

    ``separate_process`` runs local models in a child process: the desktop app needs it, because the runtime holds
    Python's GIL through each native call and would freeze the window for seconds during prefill.
    """
    store = secrets or KeyringSecretStore()

    def lookup(name: str) -> str | None:
        # With no keychain there can be no stored key; a local server needs none, a cloud API answers 401.
        try:
            return store.get(name)
        except KeychainUnavailable as exc:
            log.warning("no API key read for %s: %s", name, exc)
            return None

    builtin = default_model.spec(paths.models_dir, settings.models.default_precision)
    specs = [builtin, *catalog.load(paths.models_catalog)]
    # Remote models are sent nothing unredacted: secrets always, personal data too when trust.redact_pii says so.
    limits = dataclasses.replace(settings.models.limits(), separate_process=separate_process)
    return ModelRegistry(specs, limits, secrets=lookup, outbound=OutboundPolicy(pii=settings.trust.redact_pii))


def run_models(args: argparse.Namespace, settings: AppSettings, paths: Paths) -> int:
    action = args.models_command
    if action == "install-default":
        return install_default(settings, paths, precision=args.precision, force=args.force, as_json=args.json)
    if action == "list":
        return list_models(settings, paths, as_json=args.json, load=not args.no_load)
    if action == "add":
        return add_local(args, paths)
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


def add_local_model(paths: Paths, name: str, folder: str | Path, size: str = "small", speed: str = "fast",
                    context: int | None = None) -> tuple[ModelSpec, bool]:
    """Validate a local model folder by loading it (seconds), then upsert it; (spec, True when it replaced one).

    Raises ModelNotInstalled / ModelLoadFailed when the folder is not a loadable model, ConfigError for a bad name;
    nothing is written then.
    """
    name = name if "/" in name else f"local/{name}"
    path = Path(folder).expanduser().resolve()
    model = GenAIModel(path, RuntimeOptions(device="cpu"), name=name)  # raises with a clear message if not a model
    spec = _spec(name=name, kind="onnx", path=path, size=size, speed=speed,
                 context_length=context or model.context_length)
    model.load()  # refuse a folder the runtime cannot load, before it is saved
    return spec, catalog.upsert(paths.models_catalog, spec)


def provider_spec(name: str, base_url: str, model: str, size: str = "small", speed: str = "fast",
                  context: int = 8192) -> ModelSpec:
    """The spec of a model served over the OpenAI protocol; ConfigError says what is wrong with the fields."""
    url = base_url.strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{url or 'an empty address'!r} is not a server address: "
                          "use http://host:port/v1 or https://host/v1")
    try:
        _ = parts.port  # parsing the port is the check: ValueError when it is out of range or not a number
    except ValueError as exc:
        raise ConfigError(f"{url!r} has an invalid port: {exc}") from None
    return _spec(name=f"{name.strip()}/{model.strip()}", kind="openai", base_url=url, model=model.strip(),
                 key_name=name.strip(), size=size, speed=speed, context_length=context, native_tools=True)


def add_provider(paths: Paths, name: str, base_url: str, model: str, size: str = "small", speed: str = "fast",
                 context: int = 8192) -> tuple[ModelSpec, bool]:
    """Upsert a model served over the OpenAI protocol; (spec, True when it replaced one). Nothing is contacted."""
    spec = provider_spec(name, base_url, model, size, speed, context)
    return spec, catalog.upsert(paths.models_catalog, spec)


def model_readiness(settings: AppSettings, paths: Paths) -> tuple[bool, str]:
    """Whether the default model can answer without a setup step, and in a few words why not.

    Only the embedded default is checked (its manifest, in milliseconds); any other default was configured by the
    user and is assumed ready: a connection test (``registry.status``) would take seconds.
    """
    if settings.models.default != default_model.DEFAULT_NAME:
        return True, "configured"
    return default_model.verify(default_model.folder(paths.models_dir, settings.models.default_precision))


def _spec(**fields: Any) -> ModelSpec:
    try:
        return ModelSpec(**fields)
    except ValidationError as exc:
        raise ConfigError("; ".join(str(e["msg"]) for e in exc.errors())) from None


def run_providers(args: argparse.Namespace, settings: AppSettings, paths: Paths) -> int:
    if args.providers_command != "add":
        raise ConfigError(f"unknown providers action {args.providers_command}")
    spec, replaced = add_provider(paths, args.name, args.base_url, args.model, size=args.size, speed=args.speed,
                                  context=args.context)
    out.print(f"{'updated' if replaced else 'added'} {spec.name} at {spec.base_url}")
    out.print(f"if it needs an API key: deskmate keys set {args.name}")
    return 0


def run_keys(args: argparse.Namespace, secrets: SecretStore | None = None) -> int:
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

"""The command table: each ``deskmate`` command's name, and the module and function that run it."""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Callable

from app.settings import AppSettings, Paths
from tools.errors import ConfigError

Handler = Callable[[argparse.Namespace, AppSettings, Paths], int]

# By name, imported only when their command runs: the agent's family pulls in LangGraph and the models' the model
# runtimes, seconds that `deskmate index list` (and the desktop app, which never dispatches) must not pay.
COMMANDS: dict[str | None, tuple[str, str]] = {
    None: ("app.cli.index", "run_overview"),  # no command and no display
    "overview": ("app.cli.index", "run_overview"),
    "index": ("app.cli.index", "run_index"),
    "search": ("app.cli.index", "run_search"),
    "eval": ("app.cli.evaluation", "run_eval"),
    "models": ("app.cli.models", "run_models"),
    "providers": ("app.cli.models", "run_providers"),
    "keys": ("app.cli.models", "run_keys"),
    "doctor": ("app.cli.doctor", "run_doctor"),
    "generate": ("app.cli.models", "generate"),
    "ask": ("app.cli.conversation", "ask"),
    "chat": ("app.cli.conversation", "chat"),
    "act": ("app.cli.actions", "act"),
    "threads": ("app.cli.conversation", "run_threads"),
    "memory": ("app.cli.conversation", "run_memory"),
    "traces": ("app.cli.traces", "run_traces"),
    "audit": ("app.cli.traces", "run_audit"),
}


def dispatch(args: argparse.Namespace, settings: AppSettings, paths: Paths) -> int:
    """Run the command ``args`` names; its exit code back."""
    try:
        module, function = COMMANDS[args.command]
    except KeyError:
        raise ConfigError(f"unknown command {args.command}") from None
    handler: Handler = getattr(importlib.import_module(module), function)
    return handler(args, settings, paths)

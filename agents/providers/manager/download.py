"""Downloads of catalog models from the hub: disk checked first, resumable, verified file by file, loaded once.

Files arrive in a stable scratch folder, ``models_dir/.download-<name>-<device>/``: each file grows as
``partial/<checksum>.incomplete`` until it is complete and matches the hub's published checksum (SHA-256 for LFS
files, the git blob id for small ones), then moves to ``model/``. A cancel, a Ctrl+C or a kill -9 leaves the partial
file where it is and the next run continues it with a Range request. Only a folder that loaded and answered a known
question is renamed into ``models_dir/<name>-<device>-<precision>/`` and registered as ``local/<name>``.

huggingface_hub does the HTTP (``model_info``, ``get_hf_file_metadata``, ``http_get`` with its resume and retries);
``hf_hub_download`` is not used because it downloads into a temporary file unique to each process and deletes it on
failure, so it cannot continue a download a killed process started.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import filelock
from huggingface_hub import constants

from agents.providers import catalog as user_catalog
from agents.providers import default_model
from agents.providers.manager.catalog import CatalogEntry, Variant
from agents.providers.manager.checks import check_answers
from agents.providers.manager.fetch import (
    Cancelled,
    DownloadError,
    Fetcher,
    Progress,
    RemoteFile,
    gb,
    listing,
    size_of,
)
from agents.providers.spec import ModelSpec
from tools.errors import ConfigError

__all__ = ["Cancelled", "DownloadError", "DownloadResult", "delete", "download", "folder", "installed",
           "is_offline", "scratch_folder"]
Check = Callable[[Path, str, str], str]  # (folder, model name, device) -> the answer, or raises
MANIFEST = default_model.MANIFEST
HEADROOM_BYTES = 200 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class DownloadResult:
    name: str  # the registered model, "local/<entry name>"
    path: Path
    device: str
    precision: str
    revision: str
    size_bytes: int
    seconds: float
    resumed_bytes: int  # bytes a previous, interrupted run had already fetched
    check_answer: str
    downloaded: bool = True  # False: a verified copy of this revision was already there

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "path": str(self.path)}


def folder(models_dir: Path, entry: CatalogEntry, variant: Variant) -> Path:
    return models_dir / f"{entry.name}-{variant.device}-{variant.precision}"


def scratch_folder(models_dir: Path, entry: CatalogEntry, device: str) -> Path:
    return models_dir / f".download-{entry.name}-{device}"


def is_offline() -> bool:
    flag = (os.environ.get("HF_HUB_OFFLINE") or os.environ.get("TRANSFORMERS_OFFLINE") or "").strip().upper()
    return constants.is_offline_mode() or flag in ("1", "ON", "YES", "TRUE")


def download(entry: CatalogEntry, device: str, models_dir: Path, models_catalog: Path, *,
             progress: Progress | None = None, cancel: threading.Event | None = None,
             endpoint: str | None = None, token: str | bool | None = False,
             free_bytes: Callable[[Path], int] | None = None, timeout_s: float | None = None,
             check: Check = check_answers) -> DownloadResult:
    """Fetch ``entry``'s ``device`` build, verify it, load it once, and register it as ``local/<entry.name>``.

    ``timeout_s`` bounds each metadata request (default: HF_HUB_ETAG_TIMEOUT, 10 s); file bodies use
    HF_HUB_DOWNLOAD_TIMEOUT per read. ``free_bytes`` replaces the free-disk probe (tests).
    """
    started = time.perf_counter()
    name = f"local/{entry.name}"
    if name == default_model.DEFAULT_NAME:
        raise ConfigError(f"{name} is the embedded default model: install it with `deskmate models install-default`")
    variant = entry.variant(device)
    if variant is None:
        raise ConfigError(f"{entry.name} has no {device} build; it has: {', '.join(entry.devices)}")
    final = folder(models_dir, entry, variant)

    def already(revision: str) -> DownloadResult:  # complete and verified: (re-)register, fetch nothing
        spec = _register(entry, final, models_catalog)
        return DownloadResult(spec.name, final, variant.device, variant.precision, revision, size_of(final),
                              time.perf_counter() - started, 0, "", downloaded=False)

    if entry.revision is not None and _installed_revision(final) == entry.revision:
        return already(entry.revision)  # no network needed, even offline
    hub = (endpoint or constants.ENDPOINT).rstrip("/")
    host = urlsplit(hub).netloc or hub
    if is_offline():
        raise DownloadError(f"offline mode is on (HF_HUB_OFFLINE), so {entry.name} was not downloaded; "
                            "unset HF_HUB_OFFLINE to download it (the models already here keep working)")
    timeout = float(timeout_s or constants.HF_HUB_ETAG_TIMEOUT)
    models_dir.mkdir(parents=True, exist_ok=True)
    scratch = scratch_folder(models_dir, entry, device)
    lock = filelock.FileLock(f"{scratch}.lock", timeout=0)
    try:
        lock.acquire()
    except filelock.Timeout:
        raise DownloadError(f"{entry.name} is already being downloaded by another Deskmate process; wait for it "
                            "to finish (or stop it) and try again") from None
    try:
        commit, files = listing(entry, variant, endpoint=endpoint, token=token, timeout=timeout, host=host)
        if _installed_revision(final) == commit:
            return already(commit)
        total = sum(f.size for f in files)
        resumed = _present_bytes(scratch, files)
        needed = int((total - resumed) * 1.1) + HEADROOM_BYTES
        free = (free_bytes or _free_bytes)(models_dir)
        if free < needed:
            raise DownloadError(f"not enough disk space to download {entry.name}: it needs {gb(needed)} free in "
                                f"{models_dir} ({gb(total - resumed)} of files plus room to spare), and only "
                                f"{gb(free)} is free; free some space or pick a smaller model")
        fetcher = Fetcher(entry, commit, scratch, endpoint=endpoint, token=token, timeout=timeout, host=host,
                           progress=progress, cancel=cancel, total=total)
        digests = fetcher.fetch_all(files)
        if cancel is not None and cancel.is_set():
            raise fetcher.cancelled()
        fetcher.report("checking the model answers", total, total)
        answer = check(scratch / "model", name, variant.device)
        _write_manifest(scratch / "model", entry, variant, commit, host, files, digests)
        if final.exists():
            shutil.rmtree(final)
        os.replace(scratch / "model", final)
        shutil.rmtree(scratch, ignore_errors=True)
        spec = _register(entry, final, models_catalog)
    finally:
        lock.release()
    return DownloadResult(spec.name, final, variant.device, variant.precision, commit, total,
                          time.perf_counter() - started, resumed, answer)


def installed(models_dir: Path) -> list[Path]:
    """Folders of ``models_dir`` holding a complete model with a manager manifest (downloaded from a hub)."""
    if not models_dir.is_dir():
        return []
    return sorted(p for p in models_dir.iterdir()
                  if p.is_dir() and not p.name.startswith(".") and _installed_revision(p) is not None)


def delete(name: str, models_dir: Path, models_catalog: Path) -> int:
    """Remove a downloaded (or imported) model's folder, its partial downloads and its registration; bytes freed."""
    short = name.removeprefix("local/")
    full = f"local/{short}"
    if full == default_model.DEFAULT_NAME:
        raise ConfigError(f"{full} is the embedded default model and cannot be deleted")
    root = models_dir.resolve()
    targets: list[Path] = []
    spec = next((s for s in user_catalog.load(models_catalog) if s.name == full), None)
    if spec is not None:
        path = spec.path.expanduser() if spec.path is not None else None
        if path is None or path.parent.resolve() != root or not (path / MANIFEST).is_file():
            raise ConfigError(f"{full} is a model you added ({path or spec.base_url}); Deskmate deletes only the "
                              f"models it downloaded or imported: `deskmate models remove {full}` forgets it")
        targets.append(path)
    targets += [p for p in installed(models_dir) if _manifest(p).get("name") == full and p not in targets]
    scratches = [models_dir / f".download-{short}-{device}" for device in ("cpu", "cuda", "dml")]
    if not targets and spec is None and not any(p.exists() for p in scratches):
        raise ConfigError(f"{name!r} is not a downloaded model; `deskmate models list` shows the models, "
                          "`deskmate models catalog` the ones that can be downloaded")
    locks = [filelock.FileLock(f"{p}.lock", timeout=0) for p in scratches if Path(f"{p}.lock").exists()]
    try:
        for lock in locks:
            lock.acquire()
    except filelock.Timeout:
        for lock in locks:
            lock.release()
        raise ConfigError(f"{full} is being downloaded right now; stop that download first") from None
    freed = 0
    try:
        for path in [*targets, *(p for p in scratches if p.is_dir() and not p.is_symlink())]:
            if path.is_symlink():
                path.unlink()
                continue
            freed += size_of(path)
            shutil.rmtree(path)
        user_catalog.remove(models_catalog, full)
    finally:
        for lock in locks:
            lock.release()
    return freed


# ---- folders, manifest, registration


def _manifest(path: Path) -> dict[str, Any]:
    try:
        data = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _installed_revision(path: Path) -> str | None:
    """The hub revision of a complete downloaded model folder, None when there is none."""
    source = _manifest(path).get("source")
    if not isinstance(source, dict) or "repo" not in source or not default_model.verify(path)[0]:
        return None
    revision = source.get("revision")
    return revision if isinstance(revision, str) else None


def _write_manifest(out: Path, entry: CatalogEntry, variant: Variant, commit: str, host: str,
                    files: list[RemoteFile], digests: dict[str, str]) -> None:
    default_model.write_manifest(out, {
        "name": f"local/{entry.name}",
        "title": entry.title,
        "device": variant.device,
        "precision": variant.precision,
        "source": {"repo": entry.repo, "revision": commit, "subfolder": variant.subfolder, "endpoint": host,
                   "catalog_verified": entry.verified},
    }, files={f.rel: {"size": f.size, "sha256": digests[f.rel]} for f in files})


def _register(entry: CatalogEntry, path: Path, models_catalog: Path) -> ModelSpec:
    size = "small" if entry.params_b <= 2 else "medium" if entry.params_b <= 5 else "large"
    speed = {"small": "fast", "medium": "medium", "large": "slow"}[size]
    spec = ModelSpec(name=f"local/{entry.name}", kind="onnx", path=path, size=size, speed=speed,
                     context_length=_context_length(path, entry.context_length))
    user_catalog.upsert(models_catalog, spec)
    return spec


def _context_length(path: Path, listed: int) -> int:
    """The catalog's context length, lowered to what the model's genai_config.json allows."""
    try:
        config = json.loads((path / "genai_config.json").read_text(encoding="utf-8"))
        runtime = int(config["model"]["context_length"])
    except (OSError, ValueError, KeyError, TypeError):
        return listed
    return min(listed, runtime) if runtime >= 256 else listed


def _present_bytes(scratch: Path, files: list[RemoteFile]) -> int:
    """Bytes of these files already in the scratch folder from an earlier run."""
    present = 0
    for file in files:
        done = scratch / "model" / file.rel
        part = scratch / "partial" / f"{file.key}.incomplete"
        if done.is_file() and done.stat().st_size == file.size:
            present += file.size
        elif part.is_file():
            present += min(part.stat().st_size, file.size)
    return present


def _free_bytes(path: Path) -> int:
    existing = next(p for p in (path, *path.parents) if p.exists())
    return shutil.disk_usage(existing).free

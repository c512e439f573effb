"""The curated model catalog (resources/models/catalog.toml): what can be downloaded, and what this machine can run.

Each entry is taken from its publisher's own model card: the hub repository, a pinned revision, one subfolder per
device and precision with its size on disk, the memory needed, the context length, the licence. An entry whose files
or revision could not be confirmed is ``verified = false`` and shown so; its revision is resolved (and recorded) when
it is downloaded.

``machine()`` is the only function here that looks at this computer; ``fits()`` and ``recommend()`` take the
``Machine`` it returns, so they are pure and a test can hand them any machine it likes.
"""

from __future__ import annotations

import math
import re
import shutil
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import psutil
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from tools.errors import ConfigError

Device = Literal["cpu", "cuda", "dml"]
Precision = Literal["int4", "int8", "fp16", "fp32"]
COMMIT = re.compile(r"^[0-9a-f]{40}$")
NAME = re.compile(r"^[a-z0-9][a-z0-9.-]*$")
REPO = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*$")
GPU_DEVICES = ("cuda", "dml")
GB = 1_000_000_000  # decimal, as the hub and the catalog count
DISK_SLACK_BYTES = 200 * 1024 * 1024  # headroom on top of the files and 10 %, as the download asks
CPU_MAX_PARAMS_B = 4.0  # above this a CPU decodes too slowly for a chat to feel responsive
GPU_VRAM_MARGIN = 1.1  # a recommended GPU model leaves 10 % of the free VRAM to the desktop and other programs


class Variant(BaseModel):
    """One build of a model: the repo folder holding its genai_config.json, for one device and precision."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    device: Device
    precision: Precision
    subfolder: str = Field(description="folder inside the repo ('' = the repo's root)")
    size_bytes: int = Field(gt=0, description="size on disk of that folder")

    @field_validator("subfolder")
    @classmethod
    def _subfolder(cls, value: str) -> str:
        parts = value.split("/")
        if value.startswith("/") or ".." in parts or "\\" in value or ":" in parts[0]:
            raise ValueError(f"{value!r} is not a folder inside the repository")
        return value.strip("/")


class CatalogEntry(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    title: str
    publisher: str
    repo: str
    revision: str | None = None
    verified: bool = False
    params_b: float = Field(gt=0)
    ram_gb: float = Field(gt=0)
    vram_gb: float | None = Field(None, gt=0)
    context_length: int = Field(ge=256)
    licence: str
    good_at: str
    card_url: str
    variants: list[Variant] = Field(min_length=1)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not NAME.match(value):
            raise ValueError(f"{value!r} is not a catalog name (lower-case letters, digits, '.' and '-')")
        return value

    @field_validator("repo")
    @classmethod
    def _repo(cls, value: str) -> str:
        if not REPO.match(value):
            raise ValueError(f"{value!r} is not a hub repository id (owner/name)")
        return value

    @model_validator(mode="after")
    def _pinned(self) -> CatalogEntry:
        if self.revision is not None and not COMMIT.match(self.revision):
            raise ValueError(f"{self.name}: revision must be a full 40-character commit id, not {self.revision!r}")
        if self.verified and self.revision is None:
            raise ValueError(f"{self.name}: a verified entry needs its pinned revision")
        if not self.card_url.startswith("https://"):
            raise ValueError(f"{self.name}: card_url must be an https:// address")
        keys = [(v.device, v.precision) for v in self.variants]
        if len(keys) != len(set(keys)):
            raise ValueError(f"{self.name}: two variants for the same device and precision")
        if self.vram_gb is None and any(v.device in GPU_DEVICES for v in self.variants):
            raise ValueError(f"{self.name}: a model with a GPU build needs vram_gb")
        return self

    def variant(self, device: str) -> Variant | None:
        """The variant for ``device`` (the smallest when several precisions exist), None when there is none."""
        found = [v for v in self.variants if v.device == device]
        return min(found, key=lambda v: v.size_bytes) if found else None

    @property
    def devices(self) -> list[str]:
        return sorted({v.device for v in self.variants})


def load_catalog(path: Path | None = None) -> list[CatalogEntry]:
    """The entries of ``path``, or of the packaged catalog; ConfigError naming the bad entry otherwise."""
    where = str(path) if path is not None else "the packaged catalog (resources/models/catalog.toml)"
    try:
        if path is None:
            text = resources.files("resources").joinpath("models/catalog.toml").read_text(encoding="utf-8")
        else:
            text = Path(path).read_text(encoding="utf-8")
        data = tomllib.loads(text)
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read the model catalog {where}: {exc}") from exc
    models = data.get("models", [])
    if not isinstance(models, list) or not all(isinstance(m, dict) for m in models):
        raise ConfigError(f"{where}: models must be written as [[models]] tables")
    entries: list[CatalogEntry] = []
    for number, fields in enumerate(models, start=1):
        label = fields.get("name") if isinstance(fields.get("name"), str) else f"number {number}"
        try:
            entries.append(CatalogEntry(**fields))
        except ValidationError as exc:
            raise ConfigError(f"{where}: model {label!r} is invalid: {_problems(exc)}") from exc
    names = [e.name for e in entries]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ConfigError(f"{where}: the name {duplicates[0]!r} is used twice")
    return entries


def _problems(exc: ValidationError) -> str:
    """Pydantic's errors as one line: "revision: Value error, ...; variants.0.subfolder: ..."."""
    return "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'entry'}: {e['msg']}" for e in exc.errors())


def find(entries: list[CatalogEntry], name: str) -> CatalogEntry:
    for entry in entries:
        if entry.name == name or f"local/{entry.name}" == name:
            return entry
    known = ", ".join(e.name for e in entries) or "none"
    raise ConfigError(f"no model named {name!r} in the catalog (known: {known}); see `deskmate models catalog`")


# -- what this machine can run ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Machine:
    """What a model needs from this computer: memory, free disk where models go, and the best NVIDIA GPU."""

    ram_bytes: int
    free_disk_bytes: int
    gpu_name: str | None = None
    vram_free_bytes: int | None = None
    ram_available_bytes: int | None = None  # free right now; informs the advice, never the verdict


@dataclass(frozen=True)
class Fit:
    """Whether ``entry`` runs here on ``device``; ``reason`` says why in plain words either way."""

    entry: CatalogEntry
    device: str
    fits: bool
    reason: str
    variant: Variant | None = None


def machine(models_dir: Path) -> Machine:
    """RAM (psutil), free disk under ``models_dir`` (or its nearest existing parent) and the GPU with most free VRAM.

    The GPU comes from ``manager.gpu.gpu_facts()`` (nvidia-smi); when that module is missing or fails, the machine
    is taken to have no GPU, which only ever makes the advice more cautious.
    """
    memory = psutil.virtual_memory()
    gpu_name, vram_free = _best_gpu()
    return Machine(ram_bytes=int(memory.total), free_disk_bytes=int(shutil.disk_usage(_existing(models_dir)).free),
                   gpu_name=gpu_name, vram_free_bytes=vram_free, ram_available_bytes=int(memory.available))


def _existing(path: Path) -> Path:
    path = Path(path).expanduser().absolute()
    while not path.exists() and path.parent != path:
        path = path.parent
    return path


def _best_gpu() -> tuple[str | None, int | None]:
    try:
        from agents.providers.manager.gpu import gpu_facts

        facts: list[Any] = list(gpu_facts())
    except Exception:  # no GPU module, or nvidia-smi failing in a way it did not catch: no GPU to offer
        return None, None
    if not facts:
        return None, None
    best = max(facts, key=lambda f: int(f.vram_free_bytes))
    return str(best.name), int(best.vram_free_bytes)


def disk_needed(variant: Variant) -> int:
    """Free disk a download of ``variant`` asks for: its size, 10 % more and 200 MiB (download.py asks the same)."""
    return variant.size_bytes + variant.size_bytes // 10 + DISK_SLACK_BYTES


def _gb(size: float) -> str:
    return f"{size / GB:.1f} GB"


def _auto_device(entry: CatalogEntry, machine: Machine) -> str:
    has_cuda = entry.variant("cuda") is not None
    if has_cuda and machine.gpu_name is not None and entry.vram_gb is not None \
            and (machine.vram_free_bytes or 0) >= entry.vram_gb * GB:
        return "cuda"
    # A cuda-only entry is judged on cuda, so the reason names the VRAM it lacks.
    return "cuda" if has_cuda and entry.variant("cpu") is None else "cpu"


def fits(entry: CatalogEntry, machine: Machine, device: str | None = None) -> Fit:
    """Whether ``entry`` runs on ``machine`` on ``device``, with the reason in plain words.

    ``device`` None picks the best device this machine has: cuda when it has an NVIDIA GPU with enough free VRAM
    and the entry has a cuda build, else cpu. The cpu build needs ``ram_gb`` of RAM (the machine's total: other
    programs can be closed); a GPU build needs ``vram_gb`` of free VRAM. Every build needs the free disk
    ``disk_needed()`` asks for.
    """
    chosen = device or _auto_device(entry, machine)
    variant = entry.variant(chosen)
    if variant is None:
        builds = ", ".join(entry.devices)
        return Fit(entry, chosen, False, f"{entry.title} has no {chosen} build (it has: {builds})")
    problems: list[str] = []
    if chosen == "cpu":
        need, have, what = entry.ram_gb * GB, machine.ram_bytes, "RAM"
        if have < need:
            problems.append(f"needs {_gb(need)} of RAM, this machine has {_gb(have)}")
    else:
        need, have, what = (entry.vram_gb or 0.0) * GB, machine.vram_free_bytes or 0, "free VRAM"
        if machine.gpu_name is None or machine.vram_free_bytes is None:
            problems.append(f"needs a GPU with {_gb(need)} of free VRAM, and none was found; use the cpu build")
        elif have < need:
            problems.append(f"needs {_gb(need)} of free VRAM, the {machine.gpu_name} has {_gb(have)} free; "
                            "use the cpu build or close programs using the GPU")
    disk = disk_needed(variant)
    if machine.free_disk_bytes < disk:
        problems.append(f"needs {_gb(disk)} of free disk, {_gb(machine.free_disk_bytes)} free")
    if problems:
        return Fit(entry, chosen, False, "; ".join(problems), variant)
    reason = f"fits on {chosen}: needs {_gb(need)} of {what}, {_gb(have)} here; downloads {_gb(variant.size_bytes)}"
    available = machine.ram_available_bytes
    if chosen == "cpu" and available is not None and available < need:
        reason += f"; only {_gb(available)} of RAM is free now, so close other programs before using it"
    return Fit(entry, chosen, True, reason, variant)


def _roomy(fit: Fit, machine: Machine) -> bool:
    if fit.device == "cpu":
        return fit.entry.ram_gb * GB <= machine.ram_bytes / 2 and fit.entry.params_b <= CPU_MAX_PARAMS_B
    return (fit.entry.vram_gb or math.inf) * GB * GPU_VRAM_MARGIN <= (machine.vram_free_bytes or 0)


def recommend(entries: list[CatalogEntry], machine: Machine) -> Fit | None:
    """The one model to suggest for this machine, or None when nothing fits with room to spare.

    The rule: take each entry on its best device (``fits`` with no device), keep those that fit with a margin,
    then prefer verified entries, then the most parameters, then catalog order (the file lists the preferred model
    of a tie first). The margin on a CPU: ``ram_gb`` at most half the machine's RAM (the rest is the desktop, the
    index and the user's programs) and at most 4B parameters (larger models decode too slowly on a CPU to chat).
    On a GPU: ``vram_gb`` plus 10 % within the free VRAM.
    """
    roomy = [(index, fit) for index, fit in enumerate(fits(e, machine) for e in entries)
             if fit.fits and _roomy(fit, machine)]
    if not roomy:
        return None
    return min(roomy, key=lambda item: (not item[1].entry.verified, -item[1].entry.params_b, item[0]))[1]


def download_seconds(size_bytes: int, mb_per_s: float = 20.0) -> float:
    """Seconds to download ``size_bytes`` at ``mb_per_s`` megabytes (10^6 bytes) a second."""
    if mb_per_s <= 0:
        raise ValueError(f"a download speed must be positive, not {mb_per_s}")
    return size_bytes / (mb_per_s * 1_000_000)

"""The curated model catalog (resources/models/catalog.toml): what can be downloaded, and what this machine can run.

Each entry is taken from its publisher's own model card: the hub repository, a pinned revision, one subfolder per
device and precision with its size on disk, the memory needed, the context length, the licence. An entry whose files
or revision could not be confirmed is ``verified = false`` and shown so; its revision is resolved (and recorded) when
it is downloaded.
"""

from __future__ import annotations

import re
import tomllib
from importlib import resources
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from tools.errors import ConfigError

Device = Literal["cpu", "cuda", "dml"]
Precision = Literal["int4", "int8", "fp16", "fp32"]
COMMIT = re.compile(r"^[0-9a-f]{40}$")
NAME = re.compile(r"^[a-z0-9][a-z0-9.-]*$")
REPO = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*$")


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
        if value.startswith("/") or ".." in value.split("/") or "\\" in value:
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
    entries: list[CatalogEntry] = []
    for number, fields in enumerate(data.get("models") or [], start=1):
        try:
            entries.append(CatalogEntry(**fields))
        except (ValidationError, TypeError) as exc:
            label = fields.get("name") if isinstance(fields, dict) else None
            raise ConfigError(f"{where}: model {label or number!r} is invalid: {exc}") from exc
    names = [e.name for e in entries]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ConfigError(f"{where}: the name {duplicates[0]!r} is used twice")
    return entries


def find(entries: list[CatalogEntry], name: str) -> CatalogEntry:
    for entry in entries:
        if entry.name == name or f"local/{entry.name}" == name:
            return entry
    known = ", ".join(e.name for e in entries) or "none"
    raise ConfigError(f"no model named {name!r} in the catalog (known: {known}); see `deskmate models catalog`")

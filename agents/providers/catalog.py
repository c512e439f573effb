"""The user's model catalogue: models and providers added from the command line, kept in models.toml."""

from __future__ import annotations

import os
import tempfile
import tomllib
from pathlib import Path
from typing import Any

import tomli_w
from pydantic import ValidationError

from agents.providers.spec import ModelSpec
from tools.errors import ConfigError


def load(path: Path) -> list[ModelSpec]:
    """Every model in ``path`` (none when the file does not exist yet)."""
    if not path.exists():
        return []
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read the model catalogue {path}: {exc}") from exc
    specs = []
    for name, fields in (data.get("models") or {}).items():
        try:
            specs.append(ModelSpec(name=name, **fields))
        except (ValidationError, TypeError) as exc:
            raise ConfigError(f"{path}: model {name!r} is invalid: {exc}") from exc
    return specs


def save(path: Path, specs: list[ModelSpec]) -> None:
    """Write the catalogue atomically (a crash leaves the old file or the new one, never half of one)."""
    models: dict[str, Any] = {}
    for spec in specs:
        fields = spec.model_dump(mode="json", exclude={"name"}, exclude_none=True)
        models[spec.name] = fields
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".models-", suffix=".toml", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            tomli_w.dump({"models": models}, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def upsert(path: Path, spec: ModelSpec) -> bool:
    """Add ``spec`` or replace the model of the same name; True when it replaced one."""
    specs = load(path)
    replaced = any(s.name == spec.name for s in specs)
    save(path, [s for s in specs if s.name != spec.name] + [spec])
    return replaced


def remove(path: Path, name: str) -> bool:
    specs = load(path)
    kept = [s for s in specs if s.name != name]
    if len(kept) == len(specs):
        return False
    save(path, kept)
    return True

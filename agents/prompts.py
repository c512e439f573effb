"""The prompt registry: versioned templates in resources/prompts; each answer records the id and version it used."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from functools import cache
from importlib import resources

from tools.errors import ConfigError


@dataclass(frozen=True, slots=True)
class Prompt:
    id: str
    version: int
    system: str
    user: str
    parts: dict[str, str] = field(default_factory=dict)  # any other templates the file holds, by key

    @property
    def ref(self) -> str:
        """``id@version``, as recorded in traces and answers."""
        return f"{self.id}@{self.version}"


@cache
def load(prompt_id: str) -> Prompt:
    """The template ``prompt_id`` from resources/prompts (read once per process)."""
    try:
        text = resources.files("resources").joinpath("prompts", f"{prompt_id}.toml").read_text(encoding="utf-8")
        data = tomllib.loads(text)
        known = ("id", "system", "user", "description")
        parts = {k: v for k, v in data.items() if isinstance(v, str) and k not in known}
        return Prompt(data["id"], int(data["version"]), data["system"], data["user"], parts)
    except (FileNotFoundError, KeyError, ValueError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"the prompt template {prompt_id!r} is missing or malformed: {exc}") from exc

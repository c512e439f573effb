"""ModelSpec: what Deskmate knows about one configured model, including the inputs the router uses."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Kind = Literal["onnx", "openai", "fake"]
SizeClass = Literal["small", "medium", "large"]
SpeedClass = Literal["fast", "medium", "slow"]
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._:/-]*$")


class ModelSpec(BaseModel):
    """One model, named "provider/model"; ``size``, ``speed`` and ``context_length`` let the agent route requests."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    kind: Kind
    path: Path | None = Field(None, description="onnx: the ONNX Runtime GenAI folder")
    base_url: str | None = Field(None, description="openai: the server's /v1 address")
    model: str | None = Field(None, description="openai: the model id the server knows")
    key_name: str | None = Field(None, description="openai: the keychain entry holding the API key")
    size: SizeClass = "small"
    speed: SpeedClass = "fast"
    context_length: int = Field(4096, ge=256)
    native_tools: bool = False
    builtin: bool = Field(False, exclude=True)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not NAME.match(value):
            raise ValueError(f"{value!r} is not a model name of the form provider/model (letters, digits, . _ - :)")
        return value

    @model_validator(mode="after")
    def _complete(self) -> ModelSpec:
        if self.kind == "onnx" and self.path is None:
            raise ValueError(f"{self.name}: a local model needs the path of its folder")
        if self.kind == "openai":
            if not self.base_url or not self.base_url.startswith(("http://", "https://")):
                raise ValueError(f"{self.name}: a remote model needs a base URL starting with http:// or https://")
            if not self.model:
                raise ValueError(f"{self.name}: a remote model needs the model id the server knows")
        return self

    @property
    def provider(self) -> str:
        return self.name.split("/", 1)[0]

    @property
    def is_local(self) -> bool:
        return self.kind == "onnx"

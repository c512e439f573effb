"""The model registry's composition root, and the catalogue edits the CLI and the app share (checked, then saved)."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import ValidationError

from agents.providers import catalog, default_model
from agents.providers.genai import GenAIModel, RuntimeOptions
from agents.providers.outbound import OutboundPolicy
from agents.providers.registry import ModelRegistry
from agents.providers.spec import ModelSpec
from app.secrets import KeychainUnavailable, KeyringSecretStore, SecretStore
from app.settings import AppSettings, Paths
from tools.errors import ConfigError

log = logging.getLogger(__name__)


def open_models(settings: AppSettings, paths: Paths, secrets: SecretStore | None = None, *,
                separate_process: bool = False) -> ModelRegistry:
    """The composition root of the models: the embedded default plus the user's catalogue, keys from the keychain.

    ``separate_process`` runs local models in a child process: the desktop app needs it, because the runtime holds
    Python's GIL through each native call and would freeze the window for seconds during prefill.
    """
    store = secrets or KeyringSecretStore()

    def lookup(name: str) -> str | None:
        # With no keychain there can be no stored key; a local server needs none, a cloud API answers 401.
        try:
            return store.get(name)
        except KeychainUnavailable as exc:
            log.warning("no API key read for %s: %s", name, exc)
            return None

    builtin = default_model.spec(paths.models_dir, settings.models.default_precision)
    specs = [builtin, *catalog.load(paths.models_catalog)]
    # Remote models are sent nothing unredacted: secrets always, personal data too when trust.redact_pii says so.
    limits = dataclasses.replace(settings.models.limits(), separate_process=separate_process)
    return ModelRegistry(specs, limits, secrets=lookup, outbound=OutboundPolicy(pii=settings.trust.redact_pii))


def add_local_model(paths: Paths, name: str, folder: str | Path, size: str = "small", speed: str = "fast",
                    context: int | None = None) -> tuple[ModelSpec, bool]:
    """Validate a local model folder by loading it (seconds), then upsert it; (spec, True when it replaced one).

    Raises ModelNotInstalled / ModelLoadFailed when the folder is not a loadable model, ConfigError for a bad name;
    nothing is written then.
    """
    name = name if "/" in name else f"local/{name}"
    path = Path(folder).expanduser().resolve()
    model = GenAIModel(path, RuntimeOptions(device="cpu"), name=name)  # raises with a clear message if not a model
    spec = _spec(name=name, kind="onnx", path=path, size=size, speed=speed,
                 context_length=context or model.context_length)
    model.load()  # refuse a folder the runtime cannot load, before it is saved
    return spec, catalog.upsert(paths.models_catalog, spec)


def provider_spec(name: str, base_url: str, model: str, size: str = "small", speed: str = "fast",
                  context: int = 8192) -> ModelSpec:
    """The spec of a model served over the OpenAI protocol; ConfigError says what is wrong with the fields."""
    url = base_url.strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{url or 'an empty address'!r} is not a server address: "
                          "use http://host:port/v1 or https://host/v1")
    try:
        _ = parts.port  # parsing the port is the check: ValueError when it is out of range or not a number
    except ValueError as exc:
        raise ConfigError(f"{url!r} has an invalid port: {exc}") from None
    return _spec(name=f"{name.strip()}/{model.strip()}", kind="openai", base_url=url, model=model.strip(),
                 key_name=name.strip(), size=size, speed=speed, context_length=context, native_tools=True)


def add_provider(paths: Paths, name: str, base_url: str, model: str, size: str = "small", speed: str = "fast",
                 context: int = 8192) -> tuple[ModelSpec, bool]:
    """Upsert a model served over the OpenAI protocol; (spec, True when it replaced one). Nothing is contacted."""
    spec = provider_spec(name, base_url, model, size, speed, context)
    return spec, catalog.upsert(paths.models_catalog, spec)


def model_readiness(settings: AppSettings, paths: Paths) -> tuple[bool, str]:
    """Whether the default model can answer without a setup step, and in a few words why not.

    Only the embedded default is checked (its manifest, in milliseconds); any other default was configured by the
    user and is assumed ready: a connection test (``registry.status``) would take seconds.
    """
    if settings.models.default != default_model.DEFAULT_NAME:
        return True, "configured"
    return default_model.verify(default_model.folder(paths.models_dir, settings.models.default_precision))


def _spec(**fields: Any) -> ModelSpec:
    try:
        return ModelSpec(**fields)
    except ValidationError as exc:
        raise ConfigError("; ".join(str(e["msg"]) for e in exc.errors())) from None

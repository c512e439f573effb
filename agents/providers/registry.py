"""ModelRegistry: every configured model by "provider/model" name, built once, guarded, and kept warm.

Provider kinds plug in as factories (``register_factory``), so tests register a scripted fake through the same path
the real providers take.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Literal

from langchain_core.language_models.chat_models import BaseChatModel
from pydantic import SecretStr

from agents.providers import openai_compat
from agents.providers.errors import ModelNotInstalled, ProviderError
from agents.providers.fake import FakeChatModel
from agents.providers.genai import GenAIModel, RuntimeOptions
from agents.providers.genai_process import GenAIProcessModel
from agents.providers.health import CircuitBreaker, GuardedChatModel
from agents.providers.limits import Limits
from agents.providers.local import LocalChatModel
from agents.providers.outbound import Outbound, OutboundPolicy
from agents.providers.spec import ModelSpec
from tools.errors import ConfigError, DeskmateError

Status = Literal["ready", "not_installed", "unreachable", "circuit_open", "load_failed"]


@dataclass(frozen=True, slots=True)
class ModelStatus:
    name: str
    kind: str
    status: Status
    execution_provider: str | None
    detail: str
    size: str
    speed: str
    context_length: int


# A factory builds the provider's own chat model; the bool says whether it takes a should_stop callback.
Factory = Callable[[ModelSpec, "ModelRegistry"], tuple[BaseChatModel, bool]]
SecretLookup = Callable[[str], str | None]


def _unexpected(exc: Exception, model: str | None = None) -> ProviderError:
    if isinstance(exc, ProviderError):
        return exc
    return ProviderError(f"{model}: the model failed: {type(exc).__name__}: {exc}", model=model)


def _local_factory(spec: ModelSpec, registry: ModelRegistry) -> tuple[BaseChatModel, bool]:
    runtime = registry.runtime(spec)
    limits = registry.limits
    model = LocalChatModel(
        model_name=spec.name,
        runtime=runtime,
        context_length=min(spec.context_length, limits.local_context_tokens),
        max_tokens=limits.max_tokens,
    )
    return model, True


def _openai_factory(spec: ModelSpec, registry: ModelRegistry) -> tuple[BaseChatModel, bool]:
    key = registry.secret(spec)
    return openai_compat.make_chat_model(spec, key, registry.limits.first_token_timeout_s, registry.outbound), False


class ModelRegistry:
    """Specs by name, plus the chat models built from them (cached, so a local model stays loaded between turns)."""

    def __init__(
        self, specs: list[ModelSpec], limits: Limits | None = None, secrets: SecretLookup | None = None,
        outbound: OutboundPolicy | None = None,
    ) -> None:
        self.limits = limits or Limits()
        self._secrets = secrets or (lambda _name: None)
        self._known: set[str] = set()  # the key values read so far: redacted wherever they might be written
        # What remote models are sent passes through here (redaction, and the log of the last payloads sent).
        self.outbound = Outbound(outbound, known=self.known_secrets)
        self._specs: dict[str, ModelSpec] = {}
        self._factories: dict[str, Factory] = {
            "onnx": _local_factory,
            "openai": _openai_factory,
            "fake": lambda _spec, _registry: (FakeChatModel(), True),
        }
        self._models: dict[str, GuardedChatModel] = {}
        self._runtimes: dict[Path, GenAIModel] = {}
        self._breakers: dict[str, CircuitBreaker] = {}
        self._lock = threading.RLock()
        for spec in specs:
            self.register(spec)

    # -- configuration ---------------------------------------------------------------------------------------------

    def register(self, spec: ModelSpec) -> None:
        with self._lock:
            self._specs[spec.name] = spec
            self._models.pop(spec.name, None)

    def register_factory(self, kind: str, factory: Factory) -> None:
        with self._lock:
            self._factories[kind] = factory

    def names(self) -> list[str]:
        return list(self._specs)

    def specs(self) -> list[ModelSpec]:
        return list(self._specs.values())

    def spec(self, name: str) -> ModelSpec:
        try:
            return self._specs[name]
        except KeyError:
            known = ", ".join(self._specs) or "none"
            raise ConfigError(f"no model named {name!r}; configured models: {known}") from None

    def breaker(self, provider: str) -> CircuitBreaker:
        with self._lock:
            if provider not in self._breakers:
                self._breakers[provider] = CircuitBreaker(
                    provider, self.limits.breaker_failures, self.limits.breaker_reset_s
                )
            return self._breakers[provider]

    def secret(self, spec: ModelSpec) -> SecretStr | None:
        if not spec.key_name:
            return None
        value = self._secrets(spec.key_name)
        if value:
            with self._lock:
                self._known.add(value)
        return SecretStr(value) if value else None

    def known_secrets(self) -> tuple[str, ...]:
        """The API key values this registry has read: storage and remote requests mask them wherever they occur."""
        with self._lock:
            return tuple(self._known)

    def execution_provider(self, name: str) -> str | None:
        """Where ``name`` runs, if known without loading or calling it: "remote", a local device, or the kind."""
        spec = self._specs.get(name)
        if spec is None:
            return None
        if spec.kind == "openai":
            return "remote"
        if spec.kind == "onnx":
            with self._lock:
                runtime = self._runtimes.get(spec.path.resolve()) if spec.path else None
            return runtime.execution_provider if runtime is not None else None
        return spec.kind

    def runtime(self, spec: ModelSpec) -> GenAIModel:
        """The loaded-on-first-use runtime for a local model folder, shared by every model name that points at it."""
        assert spec.path is not None
        with self._lock:
            path = spec.path.resolve()
            if path not in self._runtimes:
                options = RuntimeOptions(device=self.limits.device, threads=self.limits.threads)
                runtime = GenAIProcessModel if self.limits.separate_process else GenAIModel
                self._runtimes[path] = runtime(path, options, name=spec.name)
            return self._runtimes[path]

    def close(self) -> None:
        """Stop the child processes of local models run apart (see genai_process.py); in-process ones just go."""
        with self._lock:
            runtimes, self._runtimes = list(self._runtimes.values()), {}
        for runtime in runtimes:
            if isinstance(runtime, GenAIProcessModel):
                runtime.close()

    # -- models ----------------------------------------------------------------------------------------------------

    def chat_model(self, name: str) -> GuardedChatModel:
        """The guarded chat model for ``name``, built on first use."""
        with self._lock:
            if name in self._models:
                return self._models[name]
            spec = self.spec(name)
            factory = self._factories.get(spec.kind)
            if factory is None:
                raise ConfigError(f"{name}: no provider is registered for kind {spec.kind!r}")
            inner, cooperative = factory(spec, self)
            limits = self.limits
            guarded = GuardedChatModel(
                model_name=name,
                inner=inner,
                breaker=self.breaker(spec.provider),
                translate=partial(openai_compat.translate, model=name, where=spec.base_url)
                if spec.kind == "openai"
                else partial(_unexpected, model=name),
                first_token_timeout_s=limits.first_token_timeout_s,
                total_timeout_s=limits.total_timeout_s,
                retries=limits.retries if not spec.is_local else 0,  # a local failure does not pass by itself
                backoff_s=limits.backoff_s,
                cooperative=cooperative,
            )
            self._models[name] = guarded
            return guarded

    def status(self, name: str, *, load: bool = True) -> ModelStatus:
        """Where ``name`` stands; ``load`` loads a local model to learn the device that really runs it."""
        spec = self.spec(name)
        breaker = self.breaker(spec.provider)

        def report(status: Status, detail: str, provider: str | None = None) -> ModelStatus:
            return ModelStatus(
                spec.name, spec.kind, status, provider, detail, spec.size, spec.speed, spec.context_length
            )

        if breaker.state == "open":
            return report("circuit_open", f"paused for {breaker.retry_in():.0f} s after: {breaker.last_error}")
        if spec.kind == "onnx":
            try:
                runtime = self.runtime(spec)
                if load:
                    runtime.load()
            except ModelNotInstalled as exc:
                return report("not_installed", str(exc))
            except ProviderError as exc:
                return report("load_failed", str(exc))
            detail = f"device fallback: {runtime.fallback_reason}" if runtime.fallback_reason else str(spec.path)
            return report("ready", detail, runtime.execution_provider)
        if spec.kind == "openai":
            try:
                key = self.secret(spec)
            except DeskmateError as exc:
                return report("unreachable", f"cannot read the API key: {exc}")
            ok, detail = openai_compat.probe(spec, key)
            if ok and spec.key_name and key is None:
                detail += f"; no API key stored under {spec.key_name!r} (fine for local servers)"
            return report("ready" if ok else "unreachable", detail, "remote" if ok else None)
        return report("ready", f"{spec.kind} model", spec.kind)

"""The ONNX Runtime GenAI adapter: loads a model folder on the best device that really works and streams tokens.

This is the only module that imports ``onnxruntime_genai``; its exceptions become ProviderError subclasses here.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

from agents.providers.errors import GenerationCancelled, ModelLoadFailed, ModelNotInstalled, ModelOutOfMemory
from agents.providers.limits import Device

log = logging.getLogger(__name__)

# Prefill runs in slices so a long prompt can be stopped between them (one append of 4k tokens blocks for seconds).
PREFILL_SLICE = 512
_OOM_MARKERS = ("out of memory", "failed to allocate", "bad_alloc", "cudaerrormemoryallocation")


@dataclass(frozen=True, slots=True)
class RuntimeOptions:
    device: Device = "auto"
    threads: int | None = None  # intra-op threads; None = one per physical core


@dataclass(slots=True)
class GenerationStats:
    """Filled in while a generation runs; read it after the stream ends."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    time_to_first_token_s: float | None = None
    decode_s: float = 0.0
    finish_reason: str = "stop"

    @property
    def tokens_per_s(self) -> float:
        # The first token comes out of prefill; decode speed counts the ones after it.
        decoded = self.completion_tokens - 1
        return decoded / self.decode_s if decoded > 0 and self.decode_s > 0 else 0.0


@dataclass(frozen=True, slots=True)
class SamplingOptions:
    max_new_tokens: int = 512
    temperature: float = 0.0
    top_p: float = 1.0
    json_schema: str | None = None  # constrains decoding to this schema (llguidance) when set
    min_new_tokens: int = 0  # no end-of-sequence before this many tokens (benchmarks need equal lengths)


@dataclass(slots=True)
class _Loaded:
    model: Any
    tokenizer: Any
    provider: str
    fallback_reason: str | None = field(default=None)


def _import_genai() -> Any:
    try:
        import onnxruntime_genai as og
    except ImportError as exc:  # the package is a base dependency; this means a broken install
        raise ModelNotInstalled(
            "onnxruntime-genai is not installed in this environment; run `bash packaging/setup.sh`."
        ) from exc
    return og


def _preload_cuda() -> str | None:
    # The CUDA libraries of the nvidia-* wheels, loaded once before the first CUDA model (see manager/gpu.py).
    from agents.providers.manager.gpu import preload_cuda

    return preload_cuda()


def _does_not_fit(path: Path) -> str:
    from agents.providers.manager.gpu import out_of_memory_reason

    return out_of_memory_reason(path)


def _translate(exc: Exception, what: str, model: str) -> Exception:
    text = str(exc)
    if any(marker in text.lower() for marker in _OOM_MARKERS):
        return ModelOutOfMemory(f"{what} ran out of memory for {model}: {text}", model=model)
    return ModelLoadFailed(f"{what} failed for {model}: {text}", model=model)


class GenAIModel:
    """One loaded ONNX Runtime GenAI model folder; thread-safe (one generation at a time)."""

    def __init__(self, path: Path, options: RuntimeOptions | None = None, *, name: str | None = None) -> None:
        self.path = Path(path)
        self.name = name or self.path.name
        self.options = options or RuntimeOptions()
        config_file = self.path / "genai_config.json"
        if not config_file.is_file():
            raise ModelNotInstalled(
                f"{self.path} is not an ONNX Runtime GenAI model folder (no genai_config.json)", model=self.name
            )
        try:
            config = json.loads(config_file.read_text(encoding="utf-8"))
            self.context_length = int(config["model"]["context_length"])
            self.eos_token_ids = config["model"].get("eos_token_id")
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ModelLoadFailed(f"{config_file} is unreadable: {exc}", model=self.name) from exc
        self._lock = threading.Lock()
        self._loaded: _Loaded | None = None

    # -- loading ---------------------------------------------------------------------------------------------------

    @property
    def loaded(self) -> bool:
        return self._loaded is not None

    @property
    def execution_provider(self) -> str | None:
        return self._loaded.provider if self._loaded else None

    @property
    def fallback_reason(self) -> str | None:
        return self._loaded.fallback_reason if self._loaded else None

    def load(self) -> None:
        """Load once: try the GPU the options allow with a real one-token probe, else the CPU; record why."""
        with self._lock:
            if self._loaded is None:
                self._loaded = self._load()

    def _candidates(self, og: Any) -> list[str]:
        wanted = self.options.device
        if wanted == "cpu":
            return ["cpu"]
        if wanted != "auto":
            return [wanted, "cpu"]
        gpus = []
        if og.is_cuda_available():
            gpus.append("cuda")
        if og.is_dml_available():
            gpus.append("dml")
        return [*gpus, "cpu"]

    def _load(self) -> _Loaded:
        og = _import_genai()
        reasons: list[str] = []
        candidates = self._candidates(og)
        cuda_problem = _preload_cuda() if "cuda" in candidates else None
        for provider in candidates:
            started = time.perf_counter()
            try:
                model, tokenizer = self._open(og, provider)
                if provider != "cpu":
                    self._probe(og, model, tokenizer)
            except Exception as exc:  # noqa: BLE001 - any failure on a GPU means: try the next device
                error = _translate(exc, f"loading on {provider}", self.name)
                if provider == "cpu":
                    raise error from exc
                why = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
                if isinstance(error, ModelOutOfMemory):
                    why = f"{_does_not_fit(self.path)} ({why})"
                elif provider == "cuda" and cuda_problem:
                    why = f"{cuda_problem} ({why})"
                reasons.append(f"{provider}: {why}")
                log.warning("model %s did not run on %s, trying the next device: %s", self.name, provider, exc)
                continue
            log.info("loaded %s on %s in %.2f s", self.name, provider, time.perf_counter() - started)
            return _Loaded(model, tokenizer, provider, "; ".join(reasons) or None)
        raise AssertionError("unreachable: the CPU is always a candidate")

    def _open(self, og: Any, provider: str) -> tuple[Any, Any]:
        config = og.Config(str(self.path))
        config.clear_providers()
        if provider != "cpu":
            config.append_provider(provider)
        # Set explicitly: left alone, the runtime ran one thread here, at half the speed two cores give.
        threads = self.options.threads or psutil.cpu_count(logical=False) or os.cpu_count() or 1
        overlay = {"model": {"decoder": {"session_options": {"intra_op_num_threads": threads}}}}
        config.overlay(json.dumps(overlay))
        model = og.Model(config)
        return model, og.Tokenizer(model)

    def _probe(self, og: Any, model: Any, tokenizer: Any) -> None:
        # A GPU package may list its device and still fall over on the first real kernel; one token proves it.
        ids = tokenizer.encode("Hello")
        params = og.GeneratorParams(model)
        params.set_search_options(max_length=len(ids) + 1, do_sample=False)
        generator = og.Generator(model, params)
        generator.append_tokens(ids)
        generator.generate_next_token()

    def _require(self) -> _Loaded:
        self.load()
        assert self._loaded is not None
        return self._loaded

    # -- text ------------------------------------------------------------------------------------------------------

    def chat_prompt(self, messages: list[dict[str, str]]) -> str:
        """Render messages with the model's own chat template, ending with the assistant's turn."""
        loaded = self._require()
        try:
            return str(loaded.tokenizer.apply_chat_template(json.dumps(messages), add_generation_prompt=True))
        except Exception as exc:  # noqa: BLE001 - a template the runtime cannot render is a load-time problem
            raise ModelLoadFailed(
                f"the chat template of {self.name} cannot be applied: {exc}", model=self.name
            ) from exc

    def encode(self, text: str) -> list[int]:
        return [int(t) for t in self._require().tokenizer.encode(text)]

    def count_tokens(self, text: str) -> int:
        return len(self._require().tokenizer.encode(text))

    def decode(self, ids: list[int]) -> str:
        return str(self._require().tokenizer.decode(ids))

    # -- generation ------------------------------------------------------------------------------------------------

    def stream(
        self,
        prompt_ids: list[int],
        sampling: SamplingOptions,
        stats: GenerationStats,
        should_stop: Callable[[], bool] = lambda: False,
    ) -> Iterator[str]:
        """Yield decoded text pieces; closing the iterator (or ``should_stop``) ends generation between tokens."""
        loaded = self._require()
        og = _import_genai()
        # One generation at a time per loaded model: the KV cache is per generator, but the session threads are not.
        with self._lock:
            stats.prompt_tokens = len(prompt_ids)
            try:
                params = og.GeneratorParams(loaded.model)
                search: dict[str, Any] = {
                    "max_length": min(self.context_length, len(prompt_ids) + sampling.max_new_tokens),
                    "do_sample": sampling.temperature > 0,
                }
                if sampling.min_new_tokens:
                    search["min_length"] = len(prompt_ids) + sampling.min_new_tokens
                if sampling.temperature > 0:
                    search.update(temperature=sampling.temperature, top_p=sampling.top_p)
                params.set_search_options(**search)
                if sampling.json_schema:
                    params.set_guidance("json_schema", sampling.json_schema)
                generator = og.Generator(loaded.model, params)
                started = time.perf_counter()
                for at in range(0, len(prompt_ids), PREFILL_SLICE):
                    if should_stop():
                        raise GenerationCancelled("stopped before the first token", model=self.name)
                    generator.append_tokens(prompt_ids[at : at + PREFILL_SLICE])
            except GenerationCancelled:
                raise
            except Exception as exc:  # noqa: BLE001 - translated at this boundary
                raise _translate(exc, "generation", self.name) from exc
            yield from self._decode(loaded, generator, sampling, stats, should_stop, started)

    def _decode(
        self,
        loaded: _Loaded,
        generator: Any,
        sampling: SamplingOptions,
        stats: GenerationStats,
        should_stop: Callable[[], bool],
        started: float,
    ) -> Iterator[str]:
        text_stream = loaded.tokenizer.create_stream()
        first_at: float | None = None
        while True:
            try:
                if generator.is_done():
                    break
                generator.generate_next_token()
                token = int(generator.get_next_tokens()[0])
            except Exception as exc:  # noqa: BLE001 - translated at this boundary
                raise _translate(exc, "generation", self.name) from exc
            now = time.perf_counter()
            if first_at is None:
                first_at = now
                stats.time_to_first_token_s = now - started
            stats.completion_tokens += 1
            stats.decode_s = now - first_at
            piece = text_stream.decode(token)
            if piece:
                yield piece
            if should_stop():
                stats.finish_reason = "cancelled"
                return
        if stats.completion_tokens >= sampling.max_new_tokens:
            stats.finish_reason = "length"

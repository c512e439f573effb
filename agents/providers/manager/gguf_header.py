"""GGUF files without loading them: a bounded header reader, and whether the converter can take the file.

The ``gguf`` package is build-only (import-linter keeps it in the export step), so the header is read here with
limits on every length and count: a hostile or broken file costs at most a few megabytes and a few seconds, and is
reported, never trusted.
"""

from __future__ import annotations

import os
import re
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

# ---- what the converter takes

# GGUF architecture -> the Hugging Face class transformers' GGUF loader builds for it. Each is in transformers'
# GGUF_SUPPORTED_ARCHITECTURES and its class is one onnxruntime_genai.models.builder converts (a unit test checks
# both against the installed packages). Left out: gpt-oss (a 20B+ MoE in MXFP4, never tried here), and every
# architecture only one side knows (qwen2moe, qwen3moe, falcon, bloom, gpt2, stablelm, starcoder2, mamba, t5, ...).
SUPPORTED_ARCHITECTURES: dict[str, str] = {
    "llama": "LlamaForCausalLM",  # Llama 2/3, SmolLM2, TinyLlama; a "llama" file named Mistral loads as Mistral
    "mistral": "MistralForCausalLM",
    "qwen2": "Qwen2ForCausalLM",
    "qwen3": "Qwen3ForCausalLM",
    "phi3": "Phi3ForCausalLM",
    "gemma2": "Gemma2ForCausalLM",
    "gemma3": "Gemma3ForCausalLM",
    "nemotron": "NemotronForCausalLM",
    "lfm2": "Lfm2ForCausalLM",
}

# ggml tensor types: id -> (name, elements per block, bytes per block); from ggml's type traits.
GGML_TYPES: dict[int, tuple[str, int, int]] = {
    0: ("F32", 1, 4), 1: ("F16", 1, 2), 2: ("Q4_0", 32, 18), 3: ("Q4_1", 32, 20), 6: ("Q5_0", 32, 22),
    7: ("Q5_1", 32, 24), 8: ("Q8_0", 32, 34), 9: ("Q8_1", 32, 40), 10: ("Q2_K", 256, 84), 11: ("Q3_K", 256, 110),
    12: ("Q4_K", 256, 144), 13: ("Q5_K", 256, 176), 14: ("Q6_K", 256, 210), 15: ("Q8_K", 256, 292),
    16: ("IQ2_XXS", 256, 66), 17: ("IQ2_XS", 256, 74), 18: ("IQ3_XXS", 256, 98), 19: ("IQ1_S", 256, 50),
    20: ("IQ4_NL", 32, 18), 21: ("IQ3_S", 256, 110), 22: ("IQ2_S", 256, 82), 23: ("IQ4_XS", 256, 136),
    24: ("I8", 1, 1), 25: ("I16", 1, 2), 26: ("I32", 1, 4), 27: ("I64", 1, 8), 28: ("F64", 1, 8),
    29: ("IQ1_M", 256, 56), 30: ("BF16", 1, 2), 34: ("TQ1_0", 256, 54), 35: ("TQ2_0", 256, 66),
    39: ("MXFP4", 32, 17),
}
# The tensor types the dequantiser (gguf-py, through transformers) turns back into floats.
DEQUANTISABLE = frozenset(GGML_TYPES) - {9, 15, 24, 25, 26, 27, 28}

# llama.cpp's general.file_type values: the quantisation a file was made with, for display.
FILE_TYPES = {
    0: "F32", 1: "F16", 2: "Q4_0", 3: "Q4_1", 7: "Q8_0", 8: "Q5_0", 9: "Q5_1", 10: "Q2_K", 11: "Q3_K_S",
    12: "Q3_K_M", 13: "Q3_K_L", 14: "Q4_K_S", 15: "Q4_K_M", 16: "Q5_K_S", 17: "Q5_K_M", 18: "Q6_K", 19: "IQ2_XXS",
    20: "IQ2_XS", 21: "Q2_K_S", 22: "IQ3_XS", 23: "IQ3_XXS", 24: "IQ1_S", 25: "IQ4_NL", 26: "IQ3_S", 27: "IQ3_M",
    28: "IQ2_S", 29: "IQ2_M", 30: "IQ4_XS", 31: "IQ1_M", 32: "BF16", 36: "TQ1_0", 37: "TQ2_0", 38: "MXFP4_MOE",
}

# ---- the GGUF header reader

GGUF_MAGIC = b"GGUF"
MAX_HEADER_BYTES = 64 * 1024 * 1024  # real headers (a 262k-token vocabulary included) are under 20 MB
MAX_ITEMS = 4_000_000  # keys, tensors and array elements together
MAX_KEPT_STRING = 64 * 1024  # longer string values are skipped, not read
MAX_DIMS = 8
MAX_ARRAY_DEPTH = 3
_CHUNK = 1024 * 1024
_FIXED = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q", 11: "<q", 12: "<d"}
_STRING, _ARRAY = 8, 9
_KEPT_KEYS = re.compile(r"^(general\.[a-z_.]+|split\.count|[a-z0-9_-]+\.(context_length|block_count|"
                        r"embedding_length)|tokenizer\.chat_template)$")


class GgufError(ValueError):
    """The file is not a GGUF this reader accepts; the message says why in a few words."""


@dataclass(frozen=True, slots=True)
class GgufInfo:
    version: int
    architecture: str | None
    name: str | None
    size_label: str | None
    file_type: str | None
    params: int  # from the tensor shapes
    embedding_params: int  # token_embd.weight
    context_length: int | None
    tensor_types: tuple[str, ...]
    tensor_count: int
    split_count: int
    has_chat_template: bool
    model_type: str | None  # general.type: "model", "mmproj", "adapter", ...


def _limit() -> str:
    return f"{MAX_HEADER_BYTES / 2**20:g} MB"


class _Header:
    """Bounded little-endian reads from the start of a file: nothing past the file, nothing past MAX_HEADER_BYTES."""

    def __init__(self, handle: BinaryIO, size: int) -> None:
        self.handle = handle
        self.size = size
        self.limit = min(size, MAX_HEADER_BYTES)
        self.pos = 0
        self.base = 0
        self.buf = bytearray()
        self.items = 0

    def _need(self, n: int) -> int:
        end = self.pos + n
        if n < 0 or end > self.size:
            raise GgufError("the file ends inside its header (truncated, or not a GGUF file)")
        if end > self.limit:
            raise GgufError(f"its header is larger than {_limit()}")
        # buf holds the file's bytes [base, base + len(buf)): start over when pos jumped past it, and drop what
        # lies behind pos once that grows, so the buffer stays a few megabytes whatever the header says.
        if self.pos >= self.base + len(self.buf):
            self.buf.clear()
            self.base = self.pos
        elif self.pos - self.base > 8 * _CHUNK:
            del self.buf[: self.pos - self.base]
            self.base = self.pos
        while self.base + len(self.buf) < end:
            self.handle.seek(self.base + len(self.buf))
            chunk = self.handle.read(max(_CHUNK, end - self.base - len(self.buf)))
            if not chunk:
                raise GgufError("the file ends inside its header (truncated, or not a GGUF file)")
            self.buf += chunk
        return self.pos - self.base

    def unpack(self, fmt: str) -> Any:
        size = struct.calcsize(fmt)
        offset = self._need(size)
        self.pos += size
        return struct.unpack_from(fmt, self.buf, offset)[0]

    def take(self, n: int) -> bytes:
        offset = self._need(n)
        self.pos += n
        return bytes(self.buf[offset:offset + n])

    def skip(self, n: int) -> None:
        if n < 0 or self.pos + n > self.size:
            raise GgufError("a length in its header runs past the end of the file")
        if self.pos + n > self.limit:
            raise GgufError(f"its header is larger than {_limit()}")
        self.pos += n

    def count(self, n: int, smallest: int) -> int:
        """An item count read from the file, refused when the items could not fit in what is left of it."""
        if n * smallest > self.size - self.pos:
            raise GgufError(f"it claims {n:,} entries, more than the rest of the file can hold (truncated, "
                            "or not a GGUF file)")
        if n * smallest > self.limit - self.pos:
            raise GgufError(f"it claims {n:,} entries: its header would be larger than {_limit()}")
        self.items += n
        if self.items > MAX_ITEMS:
            raise GgufError(f"its header has more than {MAX_ITEMS:,} entries")
        return n

    def string(self, keep: bool) -> str | None:
        n = self.unpack("<Q")
        if not keep or n > MAX_KEPT_STRING:
            self.skip(n)
            return None
        return self.take(n).decode("utf-8", errors="replace")

    def value(self, kind: int, keep: bool, depth: int = 0) -> Any:
        if kind in _FIXED:
            return self.unpack(_FIXED[kind]) if keep else self.skip(struct.calcsize(_FIXED[kind]))
        if kind == _STRING:
            return self.string(keep)
        if kind != _ARRAY:
            raise GgufError(f"unknown value type {kind} in its header")
        if depth >= MAX_ARRAY_DEPTH:
            raise GgufError("arrays nested too deeply in its header")
        inner = self.unpack("<I")
        if inner in _FIXED:
            width = struct.calcsize(_FIXED[inner])
            n = self.count(self.unpack("<Q"), width)
            self.skip(n * width)
        elif inner == _STRING:
            for _ in range(self.count(self.unpack("<Q"), 8)):
                self.skip(self.unpack("<Q"))
        elif inner == _ARRAY:
            for _ in range(self.count(self.unpack("<Q"), 12)):
                self.value(_ARRAY, False, depth + 1)
        else:
            raise GgufError(f"unknown array type {inner} in its header")
        return None


def read_gguf(path: Path) -> GgufInfo:
    """The header facts of a GGUF file; GgufError when it is not one (or is damaged), OSError when unreadable."""
    with path.open("rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        reader = _Header(handle, size)
        if size < 4 or reader.take(4) != GGUF_MAGIC:
            raise GgufError("not a GGUF file (wrong magic number)")
        version = reader.unpack("<I")
        if version not in (2, 3):
            raise GgufError(f"GGUF version {version} is not supported (2 and 3 are)")
        tensors = reader.count(reader.unpack("<Q"), 24)
        keys = reader.count(reader.unpack("<Q"), 12)
        kv: dict[str, Any] = {}
        for _ in range(keys):
            key = reader.string(keep=True)
            kind = reader.unpack("<I")
            keep = key is not None and bool(_KEPT_KEYS.match(key))
            value = reader.value(kind, keep)
            if keep and key is not None:
                kv[key] = value
        alignment = kv.get("general.alignment", 32)
        if not isinstance(alignment, int) or not 1 <= alignment <= 1 << 20:
            raise GgufError(f"invalid general.alignment {alignment!r}")
        params = embedding = 0
        types: set[str] = set()
        spans: list[tuple[int, int]] = []
        for _ in range(tensors):
            name = reader.string(keep=True) or ""
            n_dims = reader.unpack("<I")
            if not 1 <= n_dims <= MAX_DIMS:
                raise GgufError(f"tensor {name[:40]!r} has {n_dims} dimensions")
            dims = [reader.unpack("<Q") for _ in range(n_dims)]
            if any(d > 1 << 40 for d in dims):
                raise GgufError(f"tensor {name[:40]!r} has an impossible shape")
            kind = reader.unpack("<I")
            offset = reader.unpack("<Q")
            count = 1
            for d in dims:
                count *= d
            params += count
            if name == "token_embd.weight":
                embedding = count
            known = GGML_TYPES.get(kind)
            types.add(known[0] if known else f"type {kind}")
            if known and dims[0] % known[1] == 0:
                spans.append((offset, count // known[1] * known[2]))
        data_start = -(-reader.pos // alignment) * alignment
        end = max((offset + nbytes for offset, nbytes in spans), default=0)
        if spans and data_start + end > size:
            raise GgufError(f"the file is shorter than its tensors need ({size:,} of {data_start + end:,} bytes): "
                            "an incomplete download?")
    arch = kv.get("general.architecture")
    file_type = kv.get("general.file_type")
    context = kv.get(f"{arch}.context_length") if isinstance(arch, str) else None
    split = kv.get("split.count", 1)
    return GgufInfo(
        version=version,
        architecture=arch if isinstance(arch, str) else None,
        name=_text(kv.get("general.name")),
        size_label=_text(kv.get("general.size_label")),
        file_type=FILE_TYPES.get(file_type, f"type {file_type}") if isinstance(file_type, int) else None,
        params=params,
        embedding_params=embedding,
        context_length=context if isinstance(context, int) else None,
        tensor_types=tuple(sorted(types)),
        tensor_count=tensors,
        split_count=split if isinstance(split, int) else 1,
        has_chat_template="tokenizer.chat_template" in kv,
        model_type=_text(kv.get("general.type")),
    )


def _text(value: Any) -> str | None:
    return value[:200] if isinstance(value, str) else None


def gguf_verdict(info: GgufInfo) -> tuple[bool, str]:
    """Whether the converter can take this GGUF, and why not (or a one-line description when it can)."""
    arch = info.architecture
    if info.model_type in ("mmproj", "adapter") or arch == "clip":
        return False, f"a {info.model_type or 'vision projector'} file, not a language model"
    if info.split_count > 1:
        return False, (f"split into {info.split_count} files; merge them first "
                       "(llama.cpp's `llama-gguf-split --merge`)")
    if arch is None:
        return False, "the header names no architecture"
    if info.tensor_count == 0:
        return False, "it holds no weights"
    if arch not in SUPPORTED_ARCHITECTURES:
        return False, (f"architecture {arch!r} cannot be converted (the converter takes "
                       f"{', '.join(sorted(SUPPORTED_ARCHITECTURES))})")
    odd = [t for t in info.tensor_types if t not in {GGML_TYPES[k][0] for k in DEQUANTISABLE}]
    if odd:
        return False, f"tensor types {', '.join(odd)} cannot be dequantised"
    return True, f"{arch}, {format_params(info.params)} parameters, {info.file_type or 'unknown quantisation'}"


def format_params(params: int) -> str:
    return f"{params / 1e9:.1f}B" if params >= 1e9 else f"{params / 1e6:.0f}M"

"""Models the user already has: local model servers that are running, and model files in the usual folders.

Nothing here loads a model or reads weights. Servers get one GET each, in parallel, with a short timeout; files get
their GGUF header read by a small bounded reader (the ``gguf`` package is build-only), so a hostile or broken file
costs at most a few megabytes and a few seconds, never a crash.
"""

from __future__ import annotations

import json
import os
import re
import stat
import struct
import time
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Literal
from urllib.parse import urlsplit

import httpx

Source = Literal["ollama", "lmstudio", "gpt4all", "jan", "hf-cache", "file"]
Format = Literal["gguf", "onnx-genai"]

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


# ---- servers


@dataclass(frozen=True, slots=True)
class FoundServer:
    name: str  # "ollama", "lmstudio", ... (the key in models.detect_servers)
    base_url: str  # the OpenAI-compatible /v1 address to use
    models: list[str]
    error: str | None = None  # it answered, but not with a model list

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


MAX_BODY = 4 * 1024 * 1024
MAX_MODELS = 1000


def detect_servers(servers: Mapping[str, str], timeout_s: float = 0.5) -> list[FoundServer]:
    """The servers of ``servers`` (name -> address) that answer, probed in parallel, in the order given.

    One GET each and no retries: a refused connection or a timeout means "not running" (left out); a server that
    answers with something other than a model list is listed with ``error``. No proxy and no other host is used.
    """
    items = list(servers.items())
    if not items:
        return []
    with ThreadPoolExecutor(max_workers=min(16, len(items)), thread_name_prefix="detect") as pool:
        found = list(pool.map(lambda item: _probe(item[0], item[1], timeout_s), items))
    return [server for server in found if server is not None]


def _probe(name: str, address: str, timeout_s: float) -> FoundServer | None:
    base = address.strip().rstrip("/")
    parts = urlsplit(base)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return FoundServer(name, base, [], f"{base!r} is not an http(s) address")
    ollama = name.lower().startswith("ollama")
    if ollama:
        root = base.removesuffix("/v1")
        url, base_url = f"{root}/api/tags", f"{root}/v1"
    else:
        url, base_url = f"{base}/models", base
    try:
        status, body = _get(url, timeout_s)
    except (httpx.ConnectError, httpx.TimeoutException, TimeoutError):
        return None
    except (httpx.HTTPError, OSError) as exc:
        return FoundServer(name, base_url, [], f"the connection failed: {type(exc).__name__}")
    if status != 200:
        return FoundServer(name, base_url, [], f"{url} answered HTTP {status}")
    try:
        data = json.loads(body)
        rows = data["models"] if ollama else data["data"]
        key = "name" if ollama else "id"
        models = [str(row.get(key) or row.get("model")) for row in rows if isinstance(row, dict)]
        if not isinstance(rows, list) or not all(m and m != "None" for m in models):
            raise TypeError("entries without a name")
    except (ValueError, KeyError, TypeError, AttributeError):
        return FoundServer(name, base_url, [], f"{url} answered, but not with a model list")
    return FoundServer(name, base_url, [m[:200] for m in models[:MAX_MODELS]])


def _get(url: str, timeout_s: float) -> tuple[int, bytes]:
    """GET with a deadline over the whole exchange and a cap on the body; no proxies from the environment."""
    deadline = time.monotonic() + 2 * timeout_s
    timeout = httpx.Timeout(timeout_s)
    with httpx.Client(timeout=timeout, trust_env=False, follow_redirects=False) as client:
        with client.stream("GET", url, headers={"Accept": "application/json"}) as response:
            body = bytearray()
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) > MAX_BODY:
                    return response.status_code, b""
                if time.monotonic() > deadline:
                    raise TimeoutError(url)
            return response.status_code, bytes(body)


# ---- files on disk


@dataclass(frozen=True, slots=True)
class FoundModel:
    source: Source
    name: str  # as the tool that holds it names it, e.g. "smollm2:latest" or "bartowski/Qwen2.5-1.5B/x.gguf"
    path: Path  # the GGUF file, or the ONNX GenAI folder
    format: Format
    size_bytes: int
    architecture: str | None
    importable: bool
    reason: str
    params: int | None = None
    quantisation: str | None = None
    import_as: str = field(default="")  # what to give `deskmate models import`

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["path"] = str(self.path)
        return data


MAX_DEPTH = 6
MAX_VISITS = 20_000


def _env(env: Mapping[str, str] | None) -> Mapping[str, str]:
    return os.environ if env is None else env


def ollama_store(home: Path, env: Mapping[str, str]) -> Path:
    custom = env.get("OLLAMA_MODELS")
    return Path(custom).expanduser() if custom else home / ".ollama" / "models"


def hf_caches(home: Path, env: Mapping[str, str]) -> list[Path]:
    places = []
    if env.get("HF_HUB_CACHE"):
        places.append(Path(env["HF_HUB_CACHE"]).expanduser())
    if env.get("HF_HOME"):
        places.append(Path(env["HF_HOME"]).expanduser() / "hub")
    places.append(home / ".cache" / "huggingface" / "hub")
    return _unique(places)


def model_folders(home: Path, env: Mapping[str, str]) -> dict[Source, list[Path]]:
    """Where LM Studio, GPT4All and Jan keep their model files, on Linux, macOS and Windows."""
    support = home / "Library" / "Application Support"
    local = Path(env["LOCALAPPDATA"]) if env.get("LOCALAPPDATA") else home / "AppData" / "Local"
    roaming = Path(env["APPDATA"]) if env.get("APPDATA") else home / "AppData" / "Roaming"
    xdg = Path(env["XDG_DATA_HOME"]) if env.get("XDG_DATA_HOME") else home / ".local" / "share"
    return {
        "lmstudio": _unique([home / ".lmstudio" / "models", home / ".cache" / "lm-studio" / "models"]),
        "gpt4all": _unique([xdg / "nomic.ai" / "GPT4All", support / "nomic.ai" / "GPT4All",
                            local / "nomic.ai" / "GPT4All"]),
        "jan": _unique([home / "jan" / "models", xdg / "Jan" / "data" / "models", xdg / "Jan" / "data" / "llamacpp",
                        support / "Jan" / "data" / "models", roaming / "Jan" / "data" / "models"]),
    }


def _unique(paths: list[Path]) -> list[Path]:
    seen: list[Path] = []
    for p in paths:
        if p not in seen:
            seen.append(p)
    return seen


def scan_disk(home: Path | None = None, env: Mapping[str, str] | None = None) -> list[FoundModel]:
    """Models in Ollama's store, LM Studio's, GPT4All's and Jan's folders and the Hugging Face cache.

    Links that lead out of the folder being scanned, unreadable files, non-regular files and files of other kinds
    are skipped; a ``.gguf`` whose header is damaged is listed as not importable, with the reason.
    """
    home = home or Path.home()
    env = _env(env)
    found: list[FoundModel] = []
    seen: set[Path] = set()

    def add(model: FoundModel | None) -> None:
        if model is None:
            return
        key = _real(model.path)
        if key not in seen:
            seen.add(key)
            found.append(model)

    for name, blob in ollama_models(ollama_store(home, env)):
        add(_gguf_model("ollama", name, blob, import_as=f"ollama:{name}"))
    for source, roots in model_folders(home, env).items():
        for root in roots:
            for file in _files(root, lambda p: p.name.lower().endswith(".gguf")):
                add(_gguf_model(source, file.relative_to(root).as_posix(), file))
    for cache in hf_caches(home, env):
        for model in _hf_cache(cache):
            add(model)
    return found


def _real(path: Path) -> Path:
    try:
        return path.resolve()
    except (OSError, RuntimeError):
        return path


def _inside(path: Path, root: Path) -> bool:
    """Whether ``path``, links followed, stays within ``root`` (links out of the folder are not followed)."""
    try:
        return _real(path).is_relative_to(_real(root))
    except (OSError, ValueError):
        return False


def _regular(path: Path) -> os.stat_result | None:
    """The stat of a regular file (links followed), None for anything else or anything unreadable."""
    try:
        st = path.stat()
    except (OSError, ValueError):
        return None
    return st if stat.S_ISREG(st.st_mode) else None


def _files(root: Path, wanted: Any, depth: int = MAX_DEPTH, within: Path | None = None) -> Iterator[Path]:
    """Regular files under ``root`` that ``wanted`` accepts: never into linked folders, never out of ``within``.

    ``within`` defaults to ``root``; a link whose target lies outside it is skipped.
    """
    if not root.is_dir():
        return
    stack = [(root, 0)]
    visits = 0
    while stack:
        folder, level = stack.pop()
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError:
            continue
        for entry in entries:
            visits += 1
            if visits > MAX_VISITS:
                return
            path = Path(entry.path)
            try:
                if entry.is_dir(follow_symlinks=False):
                    if level + 1 < depth and not entry.name.startswith("."):
                        stack.append((path, level + 1))
                    continue
            except OSError:
                continue
            if wanted(path) and _regular(path) is not None and _inside(path, within or root):
                yield path


def _gguf_model(source: Source, name: str, path: Path, import_as: str = "") -> FoundModel | None:
    st = _regular(path)
    if st is None:
        return None
    try:
        info = read_gguf(path)
    except OSError:
        return None  # unreadable: skipped
    except GgufError as exc:
        return FoundModel(source, name, path, "gguf", st.st_size, None, False, f"damaged or not a GGUF: {exc}",
                          import_as=import_as or str(path))
    ok, reason = gguf_verdict(info)
    return FoundModel(source, name, path, "gguf", st.st_size, info.architecture, ok, reason, info.params,
                      info.file_type, import_as or str(path))


# ---- Ollama's store

_DIGEST = re.compile(r"^sha256[:-]([0-9a-f]{64})$")
MODEL_LAYER = "application/vnd.ollama.image.model"
MAX_MANIFEST = 1024 * 1024


def ollama_models(store: Path) -> list[tuple[str, Path]]:
    """(name, GGUF blob) for every model in an Ollama store: manifests/<host>/<namespace>/<model>/<tag>."""
    manifests = store / "manifests"
    found = []
    for manifest in _files(manifests, lambda p: True, depth=4):
        parts = manifest.relative_to(manifests).parts
        if len(parts) != 4:
            continue
        blob = _model_blob(store, manifest)
        if blob is not None:
            found.append((ollama_name(*parts), blob))
    return found


def ollama_name(host: str, namespace: str, model: str, tag: str) -> str:
    """Ollama's own short name: library models without host and namespace, e.g. "llama3.2:3b"."""
    if host == "registry.ollama.ai":
        return f"{model}:{tag}" if namespace == "library" else f"{namespace}/{model}:{tag}"
    return f"{host}/{namespace}/{model}:{tag}"


def _model_blob(store: Path, manifest: Path) -> Path | None:
    try:
        if manifest.stat().st_size > MAX_MANIFEST:
            return None
        data = json.loads(manifest.read_text(encoding="utf-8"))
        layers = data["layers"]
        digest = next(layer["digest"] for layer in layers
                      if isinstance(layer, dict) and layer.get("mediaType") == MODEL_LAYER)
    except (OSError, ValueError, KeyError, TypeError, StopIteration):
        return None
    match = _DIGEST.match(str(digest))
    if not match:
        return None
    for blob in (store / "blobs" / f"sha256-{match[1]}", store / "blobs" / f"sha256:{match[1]}"):
        if _regular(blob) is not None and _inside(blob, store):
            return blob
    return None


def resolve_ollama(spec: str, home: Path | None = None, env: Mapping[str, str] | None = None) -> tuple[str, Path]:
    """``NAME[:TAG]`` (as ``ollama list`` shows it) -> (full name, GGUF blob); LookupError when not in the store."""
    home = home or Path.home()
    wanted = spec.strip().lower()
    if ":" not in wanted.rsplit("/", 1)[-1]:
        wanted += ":latest"
    store = ollama_store(home, _env(env))
    models = ollama_models(store)
    for name, blob in models:
        if name.lower() == wanted:
            return name, blob
    have = ", ".join(sorted(n for n, _ in models)) or "none"
    raise LookupError(f"no Ollama model {spec!r} in {store} (found: {have})")


# ---- the Hugging Face cache


def _hf_cache(cache: Path) -> Iterator[FoundModel]:
    if not cache.is_dir():
        return
    try:
        repos = sorted(p for p in cache.iterdir() if p.name.startswith("models--") and not p.is_symlink())
    except OSError:
        return
    for repo in repos:
        repo_id = repo.name.removeprefix("models--").replace("--", "/")
        snapshots = repo / "snapshots"
        wanted = lambda p: p.name == "genai_config.json" or p.name.lower().endswith(".gguf")  # noqa: E731
        for file in _files(snapshots, wanted, within=repo):
            inner = file.relative_to(snapshots).parts[1:]  # without the revision
            if file.name == "genai_config.json":
                sub = "/".join(inner[:-1])
                yield _onnx_model("hf-cache", f"{repo_id}/{sub}" if sub else repo_id, file.parent, repo)
            else:
                model = _gguf_model("hf-cache", f"{repo_id}/{'/'.join(inner)}", file)
                if model is not None:
                    yield model


def onnx_folder_verdict(folder: Path) -> tuple[bool, str]:
    """Whether ``folder`` looks like a complete ONNX Runtime GenAI model (its genai_config and model file)."""
    try:
        config = json.loads((folder / "genai_config.json").read_text(encoding="utf-8"))
        decoder = config["model"]["decoder"]
        filename = decoder["filename"]
        kind = config["model"].get("type", "?")
    except (OSError, ValueError, KeyError, TypeError):
        return False, "genai_config.json is missing or unreadable"
    if not isinstance(filename, str) or _regular(folder / filename) is None:
        return False, f"the model file {filename!r} named in genai_config.json is missing"
    return True, f"ONNX Runtime GenAI model ({kind}), used as it is"


def _onnx_model(source: Source, name: str, folder: Path, root: Path) -> FoundModel:
    ok, reason = onnx_folder_verdict(folder)
    size = sum(st.st_size for f in _files(folder, lambda p: True, depth=1, within=root)
               if (st := _regular(f)) is not None)
    kind = None
    if ok:
        try:
            kind = json.loads((folder / "genai_config.json").read_text(encoding="utf-8"))["model"].get("type")
        except (OSError, ValueError, KeyError, TypeError):
            kind = None
    return FoundModel(source, name, folder, "onnx-genai", size, kind, ok, reason, import_as=str(folder))


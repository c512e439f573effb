"""Models the user already has: local model servers that are running, and model files in the usual folders.

Nothing here loads a model or reads weights. Servers get one GET each, in parallel, with a short timeout; files get
their GGUF header read by the bounded reader in gguf_header.py, so a hostile or broken file costs at most a few
megabytes and a few seconds, never a crash.
"""

from __future__ import annotations

import json
import os
import re
import stat
import time
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import httpx

from agents.providers.manager.gguf_header import GgufError, gguf_verdict, read_gguf

Source = Literal["ollama", "lmstudio", "gpt4all", "jan", "hf-cache", "file"]
Format = Literal["gguf", "onnx-genai"]

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


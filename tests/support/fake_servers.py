"""Fakes of what a user's machine may already hold: local model servers (Ollama, OpenAI-compatible ones, a broken
one, one that hangs) and model stores (Ollama's manifests and blobs, hand-made GGUF files)."""

from __future__ import annotations

import json
import shutil
import socket
import struct
import threading
from collections.abc import Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any

# ---- servers


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    routes: dict[str, tuple[int, str, bytes]]
    requests: list[str]


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:  # noqa: N802 (the http.server spelling)
        self.server.requests.append(self.path)
        status, kind, body = self.server.routes.get(self.path, (404, "application/json", b'{"error":"not found"}'))
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


class FakeServer:
    """A local HTTP server answering GET on fixed routes; ``address`` is http://127.0.0.1:PORT."""

    def __init__(self, routes: dict[str, tuple[int, str, bytes]]) -> None:
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.routes = routes
        self._server.requests = []
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def address(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def requests(self) -> list[str]:
        return self._server.requests

    def __enter__(self) -> FakeServer:
        self._thread.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._server.shutdown()
        self._server.server_close()


def _json(data: Any) -> tuple[int, str, bytes]:
    return 200, "application/json", json.dumps(data).encode()


def fake_ollama(models: Iterable[str]) -> FakeServer:
    """Ollama: /api/tags lists the models; /v1/models is its OpenAI-compatible list."""
    names = list(models)
    return FakeServer({
        "/api/tags": _json({"models": [{"name": m, "model": m, "size": 1000, "digest": "0" * 64} for m in names]}),
        "/v1/models": _json({"object": "list", "data": [{"id": m, "object": "model"} for m in names]}),
    })


def fake_openai(models: Iterable[str]) -> FakeServer:
    """An OpenAI-compatible server (LM Studio, llama.cpp, vLLM, Jan): /v1/models. Its address to use ends in /v1."""
    return FakeServer({"/v1/models": _json({"object": "list", "data": [{"id": m, "object": "model"} for m in models]})})


def garbage_server() -> FakeServer:
    """Something else on the port: answers 200 with a web page on every model route."""
    page = (200, "text/html", b"<html><body>router admin</body></html>")
    return FakeServer({"/api/tags": page, "/v1/models": page, "/models": page})


class HangingServer:
    """Accepts connections and reads the request, then never answers."""

    def __init__(self) -> None:
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(16)
        self._stop = threading.Event()
        self._held: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)

    @property
    def address(self) -> str:
        return f"http://127.0.0.1:{self._sock.getsockname()[1]}"

    def _accept(self) -> None:
        self._sock.settimeout(0.1)
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                continue
            self._held.append(conn)

    def __enter__(self) -> HangingServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        for conn in self._held:
            conn.close()
        self._sock.close()


def closed_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# ---- GGUF files and model stores

U32, F32, BOOL, STRING, ARRAY, U64 = 4, 6, 7, 8, 9, 10


def _string(text: str | bytes) -> bytes:
    raw = text.encode() if isinstance(text, str) else text
    return struct.pack("<Q", len(raw)) + raw


def _value(kind: int, value: Any) -> bytes:
    if kind == U32:
        return struct.pack("<I", value)
    if kind == U64:
        return struct.pack("<Q", value)
    if kind == F32:
        return struct.pack("<f", value)
    if kind == BOOL:
        return struct.pack("<?", value)
    if kind == STRING:
        return _string(value)
    if kind == ARRAY:
        inner, items = value
        return struct.pack("<IQ", inner, len(items)) + b"".join(_value(inner, v) for v in items)
    raise ValueError(kind)


def gguf_bytes(kv: list[tuple[str, int, Any]], tensors: list[tuple[str, list[int], int]] | None = None, *,
               version: int = 3, magic: bytes = b"GGUF", with_data: bool = True) -> bytes:
    """A GGUF file: metadata ``kv`` as (key, type, value), ``tensors`` as (name, dims, ggml type) with zero data."""
    tensors = tensors if tensors is not None else []
    sizes = {0: (1, 4), 1: (1, 2), 2: (32, 18), 3: (32, 20), 8: (32, 34)}
    head = magic + struct.pack("<IQQ", version, len(tensors), len(kv))
    head += b"".join(_string(key) + struct.pack("<I", kind) + _value(kind, value) for key, kind, value in kv)
    offset = 0
    data_size = 0
    for name, dims, kind in tensors:
        count = 1
        for d in dims:
            count *= d
        block, width = sizes[kind]
        nbytes = count // block * width
        head += _string(name) + struct.pack("<I", len(dims)) + b"".join(struct.pack("<Q", d) for d in dims)
        head += struct.pack("<IQ", kind, offset)
        offset += -(-nbytes // 32) * 32
        data_size = offset
    head += b"\0" * (-len(head) % 32)
    return head + (b"\0" * data_size if with_data else b"")


def tiny_gguf(arch: str = "llama", *, name: str = "Tiny", extra: list[tuple[str, int, Any]] | None = None,
              tensor_type: int = 0) -> bytes:
    """A small, well-formed GGUF of ``arch`` (zero weights): enough for a header reader, not for a model."""
    kv: list[tuple[str, int, Any]] = [
        ("general.architecture", STRING, arch), ("general.name", STRING, name),
        ("general.size_label", STRING, "1M"), ("general.file_type", U32, 3 if tensor_type == 3 else 0),
        (f"{arch}.context_length", U32, 2048), (f"{arch}.block_count", U32, 1),
        ("tokenizer.ggml.tokens", ARRAY, (STRING, ["<s>", "</s>", "a", "b"])),
        ("tokenizer.chat_template", STRING, "{{ messages }}"),
    ]
    tensors = [("token_embd.weight", [64, 32], tensor_type), ("output_norm.weight", [64], 0),
               ("blk.0.attn_q.weight", [64, 64], tensor_type)]
    return gguf_bytes(kv + (extra or []), tensors)


def ollama_manifest(digest_hex: str, projector_hex: str | None = None) -> dict[str, Any]:
    layers = [{"mediaType": "application/vnd.ollama.image.model", "digest": f"sha256:{digest_hex}", "size": 1},
              {"mediaType": "application/vnd.ollama.image.template", "digest": "sha256:" + "1" * 64, "size": 1}]
    if projector_hex:
        layers.append({"mediaType": "application/vnd.ollama.image.projector", "digest": f"sha256:{projector_hex}",
                       "size": 1})
    return {"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
            "config": {"digest": "sha256:" + "2" * 64, "size": 1}, "layers": layers}


def add_ollama_model(store: Path, name: str, tag: str, gguf: Path | bytes, digest_hex: str, *,
                     namespace: str = "library", host: str = "registry.ollama.ai") -> Path:
    """Put a model into an Ollama-style store (manifests/<host>/<ns>/<name>/<tag> + blobs/sha256-<hex>)."""
    blob = store / "blobs" / f"sha256-{digest_hex}"
    blob.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(gguf, bytes):
        blob.write_bytes(gguf)
    else:
        shutil.copyfile(gguf, blob)
    manifest = store / "manifests" / host / namespace / name / tag
    manifest.parent.mkdir(parents=True, exist_ok=True)
    manifest.write_text(json.dumps(ollama_manifest(digest_hex)), encoding="utf-8")
    return blob

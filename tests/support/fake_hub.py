"""A local HTTP server that answers the calls huggingface_hub makes to download a model, and misbehaves on demand.

It serves one repository at one commit (also reachable through the branch name):

- ``GET /api/models/{repo}[/revision/{rev}]`` (``HfApi.model_info``; with ``?blobs=true`` the siblings carry size,
  git blob id and the LFS SHA-256, as the hub's own API does);
- ``HEAD /{repo}/resolve/{rev}/{path}`` (``get_hf_file_metadata``): X-Repo-Commit, ETag, and for LFS files
  X-Linked-Etag and X-Linked-Size, Content-Length, Accept-Ranges;
- ``GET /{repo}/resolve/{rev}/{path}`` (``http_get``), with ``Range: bytes=N-`` answered 206 + Content-Range.

No Xet headers are ever sent, so huggingface_hub never switches to hf-xet against it. Faults: ``drop_after`` cuts
the connection once after N bytes of a file, ``corrupt`` flips one byte of a file while serving it (the listing
keeps the true checksum), ``hang`` accepts connections and never answers, ``throttle_bps`` slows the bodies down.
``requests`` records every request (method, path, Range header) so a test can prove a resume.
"""

from __future__ import annotations

import hashlib
import json
import re
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from tests.support.local_server import LocalServer, TrackedHandler, TrackingServer

COMMIT = "5f0c3e1b9a7d2c4e6f8a0b1c2d3e4f5a6b7c8d9e"
LFS_SUFFIXES = (".onnx", ".data", ".bin", ".safetensors")
LFS_MIN_BYTES = 1_000_000
BLOCK = 1 << 20
_DIGESTS: dict[tuple[str, int, int], str] = {}  # (path, size, mtime) -> sha256: a 259 MB file is hashed once a run


@dataclass(frozen=True)
class HubRequest:
    method: str
    path: str  # without the query string
    query: str
    range: str | None


@dataclass(frozen=True)
class HubFile:
    path: str  # inside the repository
    size: int
    sha256: str
    git_sha1: str  # the git blob id (of the LFS pointer for an LFS file)
    lfs: bool
    source: Path | None = None
    data: bytes | None = None

    @property
    def etag(self) -> str:
        return self.sha256 if self.lfs else self.git_sha1

    def read(self, start: int, length: int) -> bytes:
        if self.data is not None:
            return self.data[start:start + length]
        assert self.source is not None
        with self.source.open("rb") as handle:
            handle.seek(start)
            return handle.read(length)


def _git_sha1(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


def _lfs_pointer(sha256: str, size: int) -> bytes:
    return f"version https://git-lfs.github.com/spec/v1\noid sha256:{sha256}\nsize {size}\n".encode()


def _file_sha256(path: Path) -> str:
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    if key not in _DIGESTS:
        with path.open("rb") as handle:
            _DIGESTS[key] = hashlib.file_digest(handle, "sha256").hexdigest()
    return _DIGESTS[key]


class _Server(TrackingServer):
    owner: FakeHub


class _Handler(TrackedHandler):
    server: _Server

    def do_HEAD(self) -> None:
        self._answer(head=True)

    def do_GET(self) -> None:
        self._answer(head=False)

    # ---- routes
    def _answer(self, *, head: bool) -> None:
        hub = self.server.owner
        parts = urlsplit(self.path)
        hub._record(HubRequest(self.command, unquote(parts.path), parts.query, self.headers.get("Range")))
        if hub.hang:
            hub._stop.wait()  # accept, read the request, never answer
            return self._abort()
        info = re.fullmatch(r"/api/models/([^/]+/[^/]+)(?:/revision/([^/]+))?/?", parts.path)
        if info and not head:
            return self._model_info(unquote(info.group(1)), unquote(info.group(2) or hub.branch), parts.query)
        resolve = re.fullmatch(r"/([^/]+/[^/]+)/resolve/([^/]+)/(.+)", parts.path)
        if resolve:
            return self._resolve(unquote(resolve.group(1)), unquote(resolve.group(2)), unquote(resolve.group(3)),
                                 head=head)
        return self._error(404, "EntryNotFound", f"no route {parts.path}", head=head)

    def _model_info(self, repo: str, revision: str, query: str) -> None:
        hub = self.server.owner
        if repo != hub.repo:
            return self._error(404, "RepoNotFound", f"Repository {repo} not found")
        if revision not in (hub.branch, hub.commit):
            return self._error(404, "RevisionNotFound", f"Invalid rev id: {revision}")
        blobs = parse_qs(query).get("blobs", ["false"])[0].lower() in ("1", "true")
        siblings: list[dict[str, Any]] = []
        for file in hub.files.values():
            sibling: dict[str, Any] = {"rfilename": file.path}
            if blobs:
                sibling.update({"size": file.size, "blobId": file.git_sha1})
                if file.lfs:
                    sibling["lfs"] = {"sha256": file.sha256, "size": file.size,
                                      "pointerSize": len(_lfs_pointer(file.sha256, file.size))}
            siblings.append(sibling)
        for name, value in hub.listing_overrides.items():
            siblings = [s for s in siblings if s["rfilename"] != name] + ([value] if value else [])
        body = {"_id": "0" * 24, "id": hub.repo, "modelId": hub.repo, "sha": hub.commit, "private": False,
                "siblings": siblings}
        self._send_bytes(200, json.dumps(body).encode(), {"Content-Type": "application/json"})

    def _resolve(self, repo: str, revision: str, path: str, *, head: bool) -> None:
        hub = self.server.owner
        if repo != hub.repo:
            return self._error(404, "RepoNotFound", f"Repository {repo} not found", head=head)
        if revision not in (hub.branch, hub.commit):
            return self._error(404, "RevisionNotFound", f"Invalid rev id: {revision}", head=head)
        file = hub.files.get(path)
        if file is None:
            return self._error(404, "EntryNotFound", f"{path} does not exist", head=head)
        headers = {"X-Repo-Commit": hub.commit, "ETag": f'"{file.etag}"', "Accept-Ranges": "bytes",
                   "Content-Type": "application/octet-stream"}
        if file.lfs:
            headers.update({"X-Linked-Etag": f'"{file.sha256}"', "X-Linked-Size": str(file.size)})
        start, status = 0, 200
        wanted = self.headers.get("Range")
        match = re.fullmatch(r"bytes=(\d+)-(\d*)", wanted or "")
        if match and not head:
            start, status = int(match.group(1)), 206
            if start >= file.size:
                return self._error(416, "RangeNotSatisfiable", f"range {wanted} outside {file.size} bytes")
            headers["Content-Range"] = f"bytes {start}-{file.size - 1}/{file.size}"
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(file.size - start))
        self.end_headers()
        if not head:
            self._body(file, start)

    def _body(self, file: HubFile, start: int) -> None:
        hub = self.server.owner
        cut = hub._take_drop(file.path, start)
        flip = file.size // 2 if file.path in hub.corrupt else None
        position = start
        began = time.monotonic()
        while position < file.size:
            block = file.read(position, min(BLOCK, file.size - position))
            if cut is not None and position + len(block) >= cut:
                self.wfile.write(block[:cut - position])
                return self._abort()
            if flip is not None and position <= flip < position + len(block):
                at = flip - position
                block = block[:at] + bytes([block[at] ^ 0xFF]) + block[at + 1:]
            self.wfile.write(block)
            position += len(block)
            rate = hub.throttle_bps
            if rate:
                ahead = (position - start) / rate - (time.monotonic() - began)
                if ahead > 0 and hub._stop.wait(ahead):
                    return self._abort()
        self.wfile.flush()

    # ---- plumbing
    def _send_bytes(self, status: int, data: bytes, headers: dict[str, str], *, head: bool = False) -> None:
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if not head:
            self.wfile.write(data)

    def _error(self, status: int, code: str, message: str, *, head: bool = False) -> None:
        headers = {"Content-Type": "application/json", "X-Error-Code": code, "X-Error-Message": message}
        if code != "RepoNotFound":
            headers["X-Repo-Commit"] = self.server.owner.commit
        self._send_bytes(status, json.dumps({"error": message}).encode(), headers, head=head)

    def _abort(self) -> None:
        self.close_connection = True
        try:
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.connection.close()


class FakeHub(LocalServer):
    """One repository at one commit, served like the hub serves it; see the module docstring for the faults."""

    server_class = _Server
    handler_class = _Handler
    thread_name = "fake-hub"

    def __init__(self, repo: str = "test/smollm2", *, commit: str = COMMIT, branch: str = "main") -> None:
        super().__init__()
        self.repo = repo
        self.commit = commit
        self.branch = branch
        self.files: dict[str, HubFile] = {}
        self.drop_after: dict[str, int] = {}  # repo path -> cut the connection after that many bytes (once)
        self.corrupt: set[str] = set()
        self.hang = False
        self.throttle_bps: int | None = None
        # repo path -> a raw sibling entry to list instead (None: leave it out): hostile or broken listings
        self.listing_overrides: dict[str, dict[str, Any] | None] = {}
        self._requests: list[HubRequest] = []

    # ---- content
    def add_folder(self, folder: Path, subfolder: str, *, exclude: tuple[str, ...] = ("manifest.json",)) -> None:
        """Serve every file of ``folder`` under ``subfolder/`` (large and *.onnx* files as LFS files)."""
        for source in sorted(folder.rglob("*")):
            rel = source.relative_to(folder).as_posix()
            if not source.is_file() or rel in exclude:
                continue
            size = source.stat().st_size
            sha256 = _file_sha256(source)
            lfs = source.name.endswith(LFS_SUFFIXES) or size >= LFS_MIN_BYTES
            blob = _git_sha1(_lfs_pointer(sha256, size)) if lfs else _git_sha1(source.read_bytes())
            path = f"{subfolder}/{rel}" if subfolder else rel
            self.files[path] = HubFile(path, size, sha256, blob, lfs, source=source)

    def add_file(self, path: str, data: bytes, *, lfs: bool = False) -> None:
        sha256 = hashlib.sha256(data).hexdigest()
        blob = _git_sha1(_lfs_pointer(sha256, len(data))) if lfs else _git_sha1(data)
        self.files[path] = HubFile(path, len(data), sha256, blob, lfs, data=data)

    # ---- server
    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


    # ---- what the tests read
    @property
    def requests(self) -> list[HubRequest]:
        with self._lock:
            return list(self._requests)

    def downloads(self, path: str) -> list[HubRequest]:
        """The GET requests for the body of ``path`` (a repo path)."""
        return [r for r in self.requests if r.method == "GET" and r.path.endswith(f"/resolve/{self.commit}/{path}")
                or r.method == "GET" and r.path.endswith(f"/resolve/{self.branch}/{path}")]

    def range_starts(self, path: str) -> list[int]:
        """Where each ranged GET of ``path`` started (a resume shows as a start above 0)."""
        starts = []
        for request in self.downloads(path):
            match = re.fullmatch(r"bytes=(\d+)-\d*", request.range or "")
            if match:
                starts.append(int(match.group(1)))
        return starts

    # ---- used by the handler threads
    def _record(self, request: HubRequest) -> None:
        with self._lock:
            self._requests.append(request)

    def _take_drop(self, path: str, start: int) -> int | None:
        with self._lock:
            cut = self.drop_after.get(path)
            if cut is None or cut <= start:
                return None
            del self.drop_after[path]
            return cut

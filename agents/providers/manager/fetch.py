"""Fetching a model's files from the hub: the listing with checksums, resumable transfers, verification.

huggingface_hub does the HTTP (``model_info``, ``get_hf_file_metadata``, ``http_get`` with its resume and retries);
this module decides where each byte goes and what counts as complete: a file grows as
``partial/<checksum>.incomplete`` in the scratch folder until it matches the hub's published checksum (SHA-256 for
LFS files, the git blob id for small ones), then moves to ``model/``.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, cast
from urllib.parse import urlsplit

import httpx2
from huggingface_hub import HfApi, constants, get_hf_file_metadata, hf_hub_url
from huggingface_hub.errors import (
    HfHubHTTPError,
    OfflineModeIsEnabled,
    RemoteEntryNotFoundError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)
from huggingface_hub.file_download import http_get
from huggingface_hub.utils._headers import build_hf_headers
from huggingface_hub.utils.sha import git_hash, sha_fileobj

from agents.providers.default_model import MANIFEST
from agents.providers.manager.catalog import CatalogEntry, Variant
from tools.errors import DeskmateError

Progress = Callable[[str, int, int], None]  # (what, done_bytes, total_bytes)
MAX_PLAIN_FILE = 100 * 1024 * 1024  # bigger files must come through LFS, with a SHA-256
SHA1 = re.compile(r"^[0-9a-f]{40}$")
SHA256 = re.compile(r"^[0-9a-f]{64}$")


class DownloadError(DeskmateError):
    """A model could not be downloaded; the message says why and what to do, and nothing was registered."""


class Cancelled(DeskmateError):
    """The download was stopped on request; what was fetched stays in the scratch folder for the next run."""


@dataclass(frozen=True, slots=True)
class RemoteFile:
    rel: str  # inside the model folder
    repo_path: str
    size: int
    sha256: str | None  # LFS files
    blob_id: str  # git blob id (checked for plain files)

    @property
    def key(self) -> str:
        return self.sha256 or self.blob_id


# ---- the listing


def listing(entry: CatalogEntry, variant: Variant, *, endpoint: str | None, token: str | bool | None,
             timeout: float, host: str) -> tuple[str, list[RemoteFile]]:
    """The commit to fetch and the files of the variant's folder, with sizes and checksums, in one request."""
    api = HfApi(endpoint=endpoint, token=token)
    with hub_errors(f"listing {entry.repo}", host, timeout):
        info = api.model_info(entry.repo, revision=entry.revision, files_metadata=True, timeout=timeout,
                              token=token)
    commit = info.sha or ""
    if not SHA1.match(commit):
        raise DownloadError(f"the hub at {host} gave no commit id for {entry.repo}; nothing was downloaded")
    if entry.revision is not None and commit != entry.revision:
        raise DownloadError(f"the hub at {host} answered with revision {commit} of {entry.repo} instead of the "
                            f"pinned {entry.revision}; nothing was downloaded")
    prefix = f"{variant.subfolder}/" if variant.subfolder else ""
    files: list[RemoteFile] = []
    for sibling in info.siblings or []:
        if not sibling.rfilename.startswith(prefix):
            continue
        rel = sibling.rfilename[len(prefix):]
        _check_name(rel, entry.repo)
        if rel == MANIFEST:
            continue  # Deskmate writes its own manifest there
        lfs = sibling.lfs
        size = lfs.size if lfs is not None else sibling.size
        sha256 = lfs.sha256 if lfs is not None else None
        blob = sibling.blob_id or ""
        if not isinstance(size, int) or size < 0 or (sha256 is None and not SHA1.match(blob)) or (
                sha256 is not None and not SHA256.match(sha256)):
            raise DownloadError(f"the hub at {host} published no usable size and checksum for {sibling.rfilename} "
                                f"in {entry.repo}; nothing was downloaded")
        if sha256 is None and size > MAX_PLAIN_FILE:
            raise DownloadError(f"{sibling.rfilename} in {entry.repo} is a {gb(size)} file without a SHA-256 "
                                "(not stored with LFS); it cannot be verified, so nothing was downloaded")
        files.append(RemoteFile(rel, sibling.rfilename, size, sha256, blob))
    if not any(f.rel == "genai_config.json" for f in files):
        where = f"{variant.subfolder}/" if variant.subfolder else "the root"
        raise DownloadError(f"{entry.repo} at {commit[:12]} has no genai_config.json in {where}, so it is not an "
                            "ONNX Runtime GenAI model; nothing was downloaded (the catalog entry needs fixing)")
    return commit, sorted(files, key=lambda f: (f.size, f.rel))


def _check_name(rel: str, repo: str) -> None:
    parts = PurePosixPath(rel).parts
    bad = (not rel or rel.startswith("/") or "\\" in rel or ":" in rel or any(ord(c) < 32 or ord(c) == 127 for c in rel)
           or any(p in ("", ".", "..") for p in parts) or len(parts) != len(rel.split("/")))
    if bad:
        raise DownloadError(f"the hub listed a file name that does not stay inside the model folder: {rel!r} "
                            f"(in {repo}); nothing was downloaded")


_OUT_OF_DATE = "the catalog entry may be out of date"
_HTTP_ERRORS: tuple[tuple[type[HfHubHTTPError], str], ...] = (
    (RepositoryNotFoundError, f"does not have the repository (or it needs a login); {_OUT_OF_DATE}"),
    (RevisionNotFoundError, f"no longer has the pinned revision; {_OUT_OF_DATE}"),
    (RemoteEntryNotFoundError, "listed a file it then could not serve; run the download again later"),
)


@contextmanager
def hub_errors(doing: str, host: str, timeout: float) -> Iterator[None]:
    """Translate huggingface_hub and HTTP failures into DownloadError, saying what to do."""
    again = "check the network (and HF_ENDPOINT if you set it), then run the download again: it continues"
    try:
        yield
    except OfflineModeIsEnabled:
        raise DownloadError("offline mode is on (HF_HUB_OFFLINE): nothing was downloaded; unset it to download "
                            "(the models already here keep working)") from None
    except httpx2.TimeoutException:
        raise DownloadError(f"the hub at {host} did not answer within {timeout:g} s while {doing}; {again}") from None
    except httpx2.TransportError as exc:
        raise DownloadError(f"cannot reach the hub at {host} while {doing} ({exc or type(exc).__name__}); "
                            f"{again}") from None
    except HfHubHTTPError as exc:
        known = next((text for kind, text in _HTTP_ERRORS if isinstance(exc, kind)), None)
        if known is not None:
            raise DownloadError(f"the hub at {host} {known} (while {doing})") from None
        status = exc.response.status_code if exc.response is not None else "an error"
        raise DownloadError(f"the hub at {host} answered {status} while {doing}; {again}") from None


# ---- fetching


class Fetcher:
    """Fetches the listed files into the scratch folder, reporting bytes and honouring cancel."""

    def __init__(self, entry: CatalogEntry, commit: str, scratch: Path, *, endpoint: str | None,
                 token: str | bool | None, timeout: float, host: str, progress: Progress | None,
                 cancel: threading.Event | None, total: int) -> None:
        self.entry, self.commit, self.scratch = entry, commit, scratch
        self.endpoint, self.token, self.timeout, self.host = endpoint, token, timeout, host
        self.progress, self.cancel, self.total = progress, cancel, total
        self.done = 0
        self.model = scratch / "model"
        self.partial = scratch / "partial"
        self.record = scratch / "verified.json"

    def report(self, what: str, done: int, total: int) -> None:
        if self.progress is not None:
            self.progress(what, done, total)

    def cancelled(self) -> Cancelled:
        kept = size_of(self.partial) + size_of(self.model) if self.scratch.exists() else 0
        return Cancelled(f"the download of {self.entry.name} stopped; the {gb(kept)} fetched so far are kept in "
                         f"{self.scratch}, and `deskmate models download {self.entry.name}` continues from there "
                         f"(`deskmate models delete {self.entry.name}` removes them)")

    def fetch_all(self, files: list[RemoteFile]) -> dict[str, str]:
        """Every file complete and verified in ``model/``; their SHA-256 by relative path."""
        self.model.mkdir(parents=True, exist_ok=True)
        self.partial.mkdir(parents=True, exist_ok=True)
        keys = {f"{f.key}.incomplete" for f in files}
        for stale in self.partial.iterdir():  # partial files of another revision
            if stale.name not in keys:
                stale.unlink()
        wanted = {f.rel for f in files}
        for left in [p for p in self.model.rglob("*") if p.is_file()]:  # files of another revision
            if left.relative_to(self.model).as_posix() not in wanted:
                left.unlink()
        verified = self._verified()
        for file in files:
            if self.cancel is not None and self.cancel.is_set():
                raise self.cancelled()
            target = self.model / file.rel
            known = verified.get(file.rel)
            if known and known.get("key") == file.key and target.is_file() and target.stat().st_size == file.size:
                self.done += file.size
                self.report(f"downloading {file.rel}", self.done, self.total)
                continue
            part = self.partial / f"{file.key}.incomplete"
            self._fetch(file, part)
            self.report(f"verifying {file.rel}", self.done, self.total)
            sha256 = _verify(part, file, self.entry.repo)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(part, target)
            verified[file.rel] = {"key": file.key, "sha256": sha256}
            self._save(verified)
        return {rel: str(v["sha256"]) for rel, v in verified.items() if rel in wanted}

    def _fetch(self, file: RemoteFile, part: Path) -> None:
        have = part.stat().st_size if part.exists() else 0
        if have > file.size:
            part.unlink()
            have = 0
        base = self.done
        what = f"downloading {file.rel}"
        self.report(what, base + have, self.total)
        if have < file.size:
            url = hf_hub_url(self.entry.repo, file.repo_path, revision=self.commit, endpoint=self.endpoint)
            with hub_errors(f"fetching {file.repo_path}", self.host, self.timeout):
                meta = get_hf_file_metadata(url, token=self.token, timeout=self.timeout, endpoint=self.endpoint)
            if meta.commit_hash not in (None, self.commit) or meta.size not in (None, file.size):
                raise DownloadError(f"the hub at {self.host} describes {file.repo_path} differently from its own "
                                    "listing (another revision or size); run the download again later")
            same_host = urlsplit(meta.location).netloc == urlsplit(url).netloc
            headers = build_hf_headers(token=self.token if same_host else False)
            bar = functools.partial(_Bar, self, what, base)
            with hub_errors(f"fetching {file.repo_path}", self.host, float(constants.HF_HUB_DOWNLOAD_TIMEOUT)):
                with part.open("ab") as handle:
                    try:
                        http_get(meta.location, handle, resume_size=have, headers=headers, expected_size=file.size,
                                 displayed_filename=file.rel, tqdm_class=cast(Any, bar))
                    except OSError as exc:
                        if "Consistency check failed" not in str(exc):
                            raise
                        handle.close()  # the size check after the body: a truncated or padded answer
                        part.unlink(missing_ok=True)
                        raise DownloadError(f"{file.repo_path} arrived with the wrong size ({exc}); "
                                            "run the download again") from None
        else:
            part.touch()
        self.done = base + file.size

    def _verified(self) -> dict[str, dict[str, str]]:
        try:
            data = json.loads(self.record.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def _save(self, verified: dict[str, dict[str, str]]) -> None:
        tmp = self.record.with_suffix(".tmp")
        tmp.write_text(json.dumps(verified, indent=1), encoding="utf-8")
        os.replace(tmp, self.record)


class _Bar:
    """What huggingface_hub's http_get needs from a tqdm class: progress reports, and a cancel checked per chunk."""

    def __init__(self, fetcher: Fetcher, what: str, base: int, **kwargs: Any) -> None:
        self.fetcher, self.what, self.base, self.n = fetcher, what, base, int(kwargs.get("initial") or 0)

    def __enter__(self) -> _Bar:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def update(self, n: int | float = 1) -> None:
        cancel = self.fetcher.cancel
        if cancel is not None and cancel.is_set():
            raise self.fetcher.cancelled()  # before http_get writes the chunk: the partial file stays consistent
        self.n += int(n)
        self.fetcher.report(self.what, self.base + self.n, self.fetcher.total)


def _verify(part: Path, file: RemoteFile, repo: str) -> str:
    """The file's SHA-256 once it matches the hub's checksum; a mismatching file is deleted."""
    size = part.stat().st_size
    if file.sha256 is not None:
        with part.open("rb") as handle:
            actual = sha_fileobj(handle).hex()
        ok, sha256 = actual == file.sha256 and size == file.size, actual
    else:
        data = part.read_bytes()
        ok, sha256 = git_hash(data) == file.blob_id and size == file.size, hashlib.sha256(data).hexdigest()
    if not ok:
        part.unlink(missing_ok=True)
        raise DownloadError(f"{file.repo_path} from {repo} does not match the checksum the hub published for it, "
                            "so it was deleted and the model was not installed; run the download again (if it "
                            "fails the same way, the hub's copy or something between you and it is broken)")
    return sha256


def size_of(path: Path) -> int:
    """Bytes in a file or folder (links not followed)."""
    if path.is_file():
        return path.stat().st_size
    return sum(f.lstat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink())


def gb(size: int) -> str:
    return f"{size / 1e9:.1f} GB" if size >= 1e9 else f"{size / 1e6:.0f} MB"

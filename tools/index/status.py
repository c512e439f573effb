"""What the knowledge index holds, as typed rows: its roots, its problem files, its per-file states and counts."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from tools.index.manifest import FileState, Root


@dataclass(frozen=True, slots=True)
class RootStatus:
    """One indexed folder, its patterns, and how many of its files the index tracks (links left out)."""

    path: str
    include: tuple[str, ...]
    exclude: tuple[str, ...]
    files: int

    def as_dict(self) -> dict[str, Any]:
        return {"path": self.path, "include": list(self.include), "exclude": list(self.exclude), "files": self.files}


@dataclass(frozen=True, slots=True)
class FileProblem:
    """A file that failed to index, or a link that was skipped, and why."""

    path: str
    reason: str | None

    def as_dict(self) -> dict[str, Any]:
        return {"path": self.path, "reason": self.reason}


@dataclass(frozen=True, slots=True)
class FileRow:
    """One file of the active generation, as ``deskmate index status --files`` lists it."""

    path: str
    state: str
    chunks: int
    type: str | None
    reason: str | None

    def as_dict(self) -> dict[str, Any]:
        return {"path": self.path, "state": self.state, "chunks": self.chunks, "type": self.type, "reason": self.reason}


@dataclass(frozen=True, slots=True)
class IndexStatus:
    """The index at one moment; ``as_dict()`` is the JSON the CLI prints and the desktop reads."""

    data_dir: str
    roots: tuple[RootStatus, ...]
    files: int
    chunks: int
    failures: tuple[FileProblem, ...]
    skipped_links: tuple[FileProblem, ...]
    embedder: Mapping[str, Any]
    generation: str
    rebuilding_to: str | None
    last_sync: float | None
    repairs: str | None  # until a full sync has finished what they began
    file_list: tuple[FileRow, ...] | None = None  # only when asked for: it grows with the index

    @property
    def failed(self) -> int:
        return len(self.failures)

    @property
    def links_skipped(self) -> int:
        return len(self.skipped_links)

    @classmethod
    def of(cls, states: Iterable[FileState], roots: Iterable[Root], *, files: bool, data_dir: str, chunks: int,
           embedder: Mapping[str, Any], generation: str, rebuilding_to: str | None, last_sync: float | None,
           repairs: str | None) -> IndexStatus:
        """The status of one generation whose files are ``states``; ``files`` adds the per-file rows."""
        states = list(states)

        def problems(status: str) -> tuple[FileProblem, ...]:
            found = [FileProblem(s.path, s.reason) for s in states if s.status == status]
            return tuple(sorted(found, key=lambda f: f.path or ""))

        return cls(
            data_dir=data_dir,
            roots=tuple(RootStatus(r.path, tuple(r.include), tuple(r.exclude),
                                   sum(1 for s in states if s.root == r.path and s.status != "skipped"))
                        for r in roots),
            files=sum(1 for s in states if s.status == "indexed"),
            chunks=chunks,
            failures=problems("failed"),
            skipped_links=problems("skipped"),
            embedder=embedder,
            generation=generation,
            rebuilding_to=rebuilding_to,
            last_sync=last_sync,
            repairs=repairs,
            file_list=tuple(FileRow(s.path, s.status, s.chunks, s.file_type, s.reason)
                            for s in sorted(states, key=lambda s: s.path)) if files else None,
        )

    def as_dict(self) -> dict[str, Any]:
        """Today's JSON shape, key for key and in the same order."""
        out: dict[str, Any] = {
            "data_dir": self.data_dir,
            "roots": [r.as_dict() for r in self.roots],
            "files": self.files,
            "failed": self.failed,
            "chunks": self.chunks,
            "failures": [f.as_dict() for f in self.failures],
            "links_skipped": self.links_skipped,
            "skipped_links": [f.as_dict() for f in self.skipped_links],
            "embedder": dict(self.embedder),
            "generation": self.generation,
            "rebuilding_to": self.rebuilding_to,
            "last_sync": self.last_sync,
            "repairs": self.repairs,
        }
        if self.file_list is not None:
            out["file_list"] = [f.as_dict() for f in self.file_list]
        return out

"""Adding roots and syncing them root by root: the checks and the summing the CLI and the desktop app share."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from tools.errors import DeskmateError
from tools.index.knowledge import SyncReport
from tools.index.parsers import file_type_for

if TYPE_CHECKING:
    from tools.index.knowledge import KnowledgeIndex

AddKind = Literal["added", "updated", "already_indexed", "inside_root", "missing", "unsupported", "invalid"]
RootProgress = Callable[[str, str, int, int], None]
"""progress(root, stage, done, total): what that root's sync just did (stages as ``ProgressFn``'s)."""

_SUMMED = ("scanned", "added", "changed", "removed", "unchanged", "failed", "chunks_embedded", "chunks_reused",
           "chunks_written", "links_skipped")


@dataclass(frozen=True, slots=True)
class RootAdd:
    """What became of one path asked to be added, and the sentence that tells the user."""

    path: Path  # as asked, with ~ expanded
    kind: AddKind
    message: str
    root: str | None = None  # the root added or updated, or the one the path already lies in

    @property
    def ok(self) -> bool:
        """The path is a root now with the patterns asked for (added or updated)."""
        return self.kind in ("added", "updated")

    @property
    def error(self) -> bool:
        """Nothing can make this path a root (missing, unsupported, neither file nor folder)."""
        return self.kind in ("missing", "unsupported", "invalid")


@dataclass(frozen=True, slots=True)
class AddReport:
    outcomes: tuple[RootAdd, ...]

    @property
    def added(self) -> list[str]:
        """The roots added or updated, resolved."""
        return [o.root for o in self.outcomes if o.ok and o.root is not None]

    @property
    def problems(self) -> list[RootAdd]:
        return [o for o in self.outcomes if not o.ok]


@dataclass(slots=True)
class SyncRun:
    """A sync of several roots: each root's own report, and their sum (with the generation swap, if any)."""

    total: SyncReport
    roots: list[tuple[str, SyncReport]] = field(default_factory=list)


def add_roots(index: KnowledgeIndex, paths: Iterable[Path], include: Iterable[str] = (),
              exclude: Iterable[str] = ()) -> AddReport:
    """Add each path as a root unless it is missing, a file no parser reads, or already indexed; one outcome each.

    A root asked for again with other patterns gets them; without patterns it is left as it is.
    """
    include, exclude = tuple(include), tuple(exclude)
    return AddReport(tuple(_add_one(index, path.expanduser(), include, exclude) for path in paths))


def _add_one(index: KnowledgeIndex, path: Path, include: tuple[str, ...], exclude: tuple[str, ...]) -> RootAdd:
    if not path.exists():
        return RootAdd(path, "missing",
                       f"{path} does not exist: check the path (or reconnect its drive) and add it again.")
    if path.is_file() and file_type_for(path) is None:
        return RootAdd(path, "unsupported",
                       f"{path.name}: Deskmate cannot index this kind of file (text, Markdown, code, PDF and office "
                       "documents work); add the folder it is in to index what it can read.")
    roots = index.roots()
    inside = index.root_of(str(path.resolve()), roots)
    if inside is not None and inside.path == str(path.resolve()):
        if (include or exclude) and (include, exclude) != (tuple(inside.include), tuple(inside.exclude)):
            index.add_root(path, include, exclude)
            return RootAdd(path, "updated", f"updated the patterns of {inside.path}", inside.path)
        return RootAdd(path, "already_indexed", f"{path} is already in the index.", inside.path)
    if inside is not None:
        return RootAdd(path, "inside_root", f"{path} is already in the index (under {inside.path}).", inside.path)
    try:
        root = index.add_root(path, include, exclude)
    except DeskmateError as exc:  # neither a folder nor a file (a device, a pipe)
        return RootAdd(path, "invalid", str(exc))
    return RootAdd(path, "added", f"added {root.path}", root.path)


def sync_roots(index: KnowledgeIndex, paths: Iterable[str] | None = None, *, progress: RootProgress | None = None,
               on_root: Callable[[str, SyncReport], None] | None = None, retry_failed: bool = False,
               wait: float | None = None) -> SyncRun:
    """Sync every root (``paths`` None) or just ``paths``, one at a time so each reports its own progress.

    A sync of every root ends with a full pass: it checks the manifest and the table, drops what vanished, and
    swaps in a generation being rebuilt (a sync limited to paths never swaps). ``on_root`` hears each root's report
    as it ends; ``wait`` is ``KnowledgeIndex.sync``'s.
    """
    started = time.monotonic()
    run = SyncRun(SyncReport(generation=index.generation))
    total = run.total
    for target in [r.path for r in index.roots()] if paths is None else list(paths):
        root = index.root_of(os.path.abspath(target))
        key = root.path if root is not None else target
        forward = None if progress is None else _for_root(progress, key)
        if forward is not None:
            forward("scan", 0, 0)  # the walk reports only every 500 files: show that it started
        report = index.sync(paths=[target], progress=forward, retry_failed=retry_failed, wait=wait)
        _add_up(total, report)
        run.roots.append((key, report))
        if on_root is not None:
            on_root(key, report)
    if paths is None:
        final = index.sync(retry_failed=retry_failed, wait=wait)
        total.removed += final.removed  # files of roots removed meanwhile; the rest was counted root by root
        total.swapped = final.swapped
        total.repaired = total.repaired or final.repaired
    total.seconds = time.monotonic() - started
    return run


def _for_root(progress: RootProgress, root: str) -> Callable[[str, int, int], None]:
    return lambda stage, done, count: progress(root, stage, done, count)


def _add_up(total: SyncReport, report: SyncReport) -> None:
    for name in _SUMMED:
        setattr(total, name, getattr(total, name) + getattr(report, name))
    total.failures += report.failures
    total.skipped_links += report.skipped_links
    total.repaired = total.repaired or report.repaired

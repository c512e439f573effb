"""Finds the files under the index roots: globs, default excludes, size limit, links out of the roots, link loops.

:func:`refusal` answers, for one real path, the question the walk answers for a whole tree; the file tools use it so
that they read only what the index would index.
"""

from __future__ import annotations

import fnmatch
import functools
import os
import re
import stat
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from tools.index.config import IndexOptions
from tools.index.manifest import Root
from tools.index.parsers import file_type_for
from tools.sandbox import inside, real_target

LINK_OUTSIDE = "link to outside the indexed folders"
LINK_HIDDEN = "link to a hidden or excluded file"
BAD_NAME = "its name is not valid UTF-8: rename it to index it"


@dataclass(frozen=True, slots=True)
class FileEntry:
    path: str
    root: str
    size: int
    mtime_ns: int


@dataclass(frozen=True, slots=True)
class Skipped:
    """A path the walker could not or would not index, with the reason shown to the user."""

    path: str
    root: str
    reason: str
    link: bool = False  # a link the index does not follow (LINK_OUTSIDE, LINK_HIDDEN), not a file it failed on


@functools.lru_cache(maxsize=64)
def _matcher(patterns: tuple[str, ...]) -> Callable[[str], re.Match[str] | None]:
    """One compiled regex for a set of globs: a no-op sync tests every name against ~30 of them."""
    if not patterns:
        return lambda _name: None
    return re.compile("|".join(f"(?:{fnmatch.translate(p)})" for p in patterns)).match


def _excluded(name: str, patterns: tuple[str, ...]) -> bool:
    return _matcher(patterns)(name) is not None


def _included(rel: str, name: str, patterns: tuple[str, ...]) -> bool:
    match = _matcher(patterns)
    return not patterns or match(rel) is not None or match(name) is not None


def _hidden(rel: str, excludes: tuple[str, ...]) -> bool:
    return rel != "." and any(_excluded(part, excludes) for part in rel.split(os.sep))


def _undecodable(name: str) -> bool:
    # Python hands over name bytes that are not UTF-8 as lone surrogates, which no database, tokenizer or terminal
    # takes: such a file cannot be stored, searched or shown by its name.
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _shown(path: str) -> str:
    """``path`` with undecodable bytes shown as backslash escapes: printable, storable, the same on every walk."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def refusal(path: str, roots: Sequence[Root], options: IndexOptions, st: os.stat_result | None = None) -> str | None:
    """Why the index would not take the real (links resolved) ``path``; None when a root would take it.

    Outside every root, or hidden or excluded in each root it lies in; with ``st`` of a regular file, also one the
    walk leaves out by its include globs, its type or its size.
    """
    reasons: list[str] = []
    for root in roots:
        if not inside(path, [root.path]):
            continue
        rel = os.path.relpath(path, root.path)
        if _hidden(rel, options.excludes + root.exclude):
            reasons.append("is hidden or excluded from the index")
            continue
        if st is None or not stat.S_ISREG(st.st_mode):
            return None
        includes = options.include + root.include
        if rel != "." and not _included(rel.replace(os.sep, "/"), os.path.basename(path), includes):
            reasons.append("is not among the files the index includes")
        elif file_type_for(Path(path)) is None:
            reasons.append("is not a type of file the index reads")
        elif st.st_size > options.max_file_bytes:
            reasons.append(f"is larger than the index's {_human(options.max_file_bytes)} limit")
        else:
            return None
    return reasons[0] if reasons else "is not inside an indexed folder"


def _link_refusal(path: str, roots: Sequence[Root], options: IndexOptions) -> str | None:
    """Why the link at ``path`` is not followed (the sandbox's rule, then the roots' excludes); None to follow it."""
    target = real_target(path)
    if target is None:
        return None  # dangling or a loop: the stat that follows fails, and the link is passed over as before
    if not inside(target, [r.path for r in roots]):
        return LINK_OUTSIDE
    return LINK_HIDDEN if refusal(target, roots, options) else None


def walk(root: Root, options: IndexOptions, *, start: str | None = None,
         roots: Sequence[Root] = ()) -> Iterator[FileEntry | Skipped]:
    """Yield every indexable file under ``root`` (a folder or a single file) and every problem met.

    ``start`` limits the walk to one file or folder inside the root (the watcher's changed paths); the
    root's include and exclude rules still apply to it relative to the root.

    A link, to a file or a folder, is followed only when its target lies inside one of ``roots`` (all the indexed
    roots; ``root`` alone by default) and is not hidden or excluded there; any other link is reported as skipped.
    A folder already visited (same device and inode) is reported as a loop instead of being walked again.
    Files of unknown type are skipped silently; a file over the size limit is reported, because the user would
    otherwise wonder why it never shows up.
    """
    excludes = options.excludes + root.exclude
    includes = options.include + root.include
    top = root.path
    begin = start or top
    allowed = tuple(roots) or (root,)
    if _undecodable(begin):  # a changed file the watcher reports by its odd name
        yield Skipped(_shown(begin), top, BAD_NAME)
        return
    if begin != top:
        rel = os.path.relpath(begin, top)
        if rel.split(os.sep)[0] == ".." or _hidden(rel, excludes):
            return
    if real_target(begin) not in (begin, None):
        # The start itself or a folder on the way to it is a link: follow it only as the walk below would.
        why = _link_refusal(begin, allowed, options)
        if why is not None:
            yield Skipped(begin, top, why, link=True)
            return
    try:
        st = os.stat(begin)
    except OSError as exc:
        yield Skipped(begin, top, f"cannot read: {exc.strerror or exc}")
        return
    if stat.S_ISREG(st.st_mode):
        rel = os.path.relpath(begin, top).replace(os.sep, "/")
        if begin == top or _included(rel, os.path.basename(begin), includes):
            yield from _file(begin, top, os.path.basename(begin), st, options)
        return
    seen: set[tuple[int, int]] = {(st.st_dev, st.st_ino)}
    stack = [begin]
    while stack:
        folder = stack.pop()
        try:
            with os.scandir(folder) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            yield Skipped(folder, top, f"cannot read folder: {exc.strerror or exc}")
            continue
        for entry in entries:
            if _excluded(entry.name, excludes):
                continue
            if _undecodable(entry.name):
                if entry.is_dir() or file_type_for(Path(entry.name)) is not None:
                    yield Skipped(_shown(entry.path), top, BAD_NAME)
                continue
            if entry.is_symlink():
                why = _link_refusal(entry.path, allowed, options)
                if why is not None:
                    yield Skipped(entry.path, top, why, link=True)
                    continue
            try:
                is_dir = entry.is_dir(follow_symlinks=True)
                entry_stat = entry.stat(follow_symlinks=True)
            except OSError as exc:
                # A dangling symlink or a file that vanished between listing and stat.
                if not entry.is_symlink():
                    yield Skipped(entry.path, top, f"cannot read: {exc.strerror or exc}")
                continue
            if is_dir:
                key = (entry_stat.st_dev, entry_stat.st_ino)
                if key in seen:
                    if entry.is_symlink():
                        yield Skipped(entry.path, top, "symlink loop: points to a folder already indexed")
                    continue
                seen.add(key)
                stack.append(entry.path)
                continue
            if not stat.S_ISREG(entry_stat.st_mode):
                continue
            if includes and not _included(os.path.relpath(entry.path, top).replace(os.sep, "/"), entry.name, includes):
                continue
            yield from _file(entry.path, top, entry.name, entry_stat, options)


def _file(path: str, root: str, name: str, st: os.stat_result, options: IndexOptions) -> Iterator[FileEntry | Skipped]:
    if file_type_for(Path(name)) is None:
        return
    if st.st_size > options.max_file_bytes:
        yield Skipped(path, root, f"larger than the {_human(options.max_file_bytes)} limit ({_human(st.st_size)})")
        return
    yield FileEntry(path, root, st.st_size, st.st_mtime_ns)


def _human(size: int) -> str:
    for unit, scale in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}"
    return f"{size} bytes"

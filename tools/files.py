"""File tools over the knowledge index: read part of an indexed file, list recent files, write a note.

Reading is confined to the indexed roots by the path sandbox (sandbox.py): a path outside them, through a link or
with ``..``, is refused, whatever the model asks for, and so is a file the index would not index (hidden, excluded,
too big). A file is opened before it is checked and read only as far as the answer needs. Notes are written only
inside the notes folder, itself a real folder, never over an existing file or through a link.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from tools.errors import ToolInputError
from tools.index.document import ParseError
from tools.index.knowledge import KnowledgeIndex
from tools.index.parsers import parse_file
from tools.index.walker import refusal
from tools.sandbox import inside, open_inside

MAX_READ_CHARS = 6000
_PIECE = 64 * 1024  # characters read at a time: a file with no line ends is never held whole
_OPEN_AT = os.open in os.supports_dir_fd  # Windows cannot create a file relative to an open folder
TEXT_SUFFIXES = frozenset({".txt", ".md", ".markdown", ".rst", ".py", ".js", ".ts", ".java", ".c", ".h", ".cpp", ".go",
                           ".rs", ".sh", ".toml", ".yaml", ".yml", ".ini", ".cfg", ".csv", ".tsv", ".json", ".log"})


@dataclass(frozen=True, slots=True)
class FileExcerpt:
    path: str
    text: str
    page: int | None
    line_start: int | None
    line_end: int | None
    truncated: bool


def root_paths(index: KnowledgeIndex) -> list[str]:
    """The indexed roots, as the sandbox takes them."""
    return [root.path for root in index.roots()]


def read_file(index: KnowledgeIndex, path: str, page: int | None = None, line_start: int | None = None,
              line_end: int | None = None) -> FileExcerpt:
    """Text of an indexed file: one page (PDF), a line range, or the start of the file.

    What is read is the file that was opened and then checked, so a name swapped for a link midway is not followed.
    """
    handle, real = open_inside(path, root_paths(index))
    with handle:
        why = refusal(real, index.roots(), index.options, os.fstat(handle.fileno()))
        if why is not None:
            raise ToolInputError(f"{path} {why}, so it cannot be read; only files the index reads can be")
        if page is not None or Path(real).suffix.lower() not in TEXT_SUFFIXES:
            text, first, last = _parsed(handle, Path(real).suffix, path, page), None, None
        else:
            text, first, last = _lines(handle, path, max(1, line_start or 1), line_end or None)
    truncated = len(text) > MAX_READ_CHARS
    return FileExcerpt(real, text[:MAX_READ_CHARS], page, first, last, truncated)


def _lines(handle: BinaryIO, path: str, first: int, last: int | None) -> tuple[str, int, int]:
    """Lines ``first`` to ``last`` (to the end if None), read a piece at a time and stopped one character past the cap.

    Returns the text and the numbers of the first and last line it holds.
    """
    if last is not None and last < first:
        raise ToolInputError(f"lines {first}-{last} are not a range; give line_start no greater than line_end")
    reader = io.TextIOWrapper(handle, encoding="utf-8", errors="replace", newline=None)
    kept: list[str] = []
    used, number, fresh = 0, 0, True
    for piece in iter(lambda: reader.readline(_PIECE), ""):
        if fresh:  # this piece starts a line; a line longer than a piece comes in several
            number += 1
            if last is not None and number > last:
                break
        part = ("\n" if fresh and number > first else "") + piece.removesuffix("\n")
        fresh = piece.endswith("\n")
        if number < first:
            continue
        kept.append(part[: MAX_READ_CHARS + 1 - used])
        used += len(kept[-1])
        if used > MAX_READ_CHARS:
            break
    reader.detach()
    if number < first:
        raise ToolInputError(f"{path} has {number} lines; line {first} does not exist")
    return "".join(kept), first, number if last is None else min(number, last)


def _parsed(handle: BinaryIO, suffix: str, path: str, page: int | None) -> str:
    """The text of the opened file (a page of it) by its parser, which reads a private copy: never the name again."""
    with tempfile.TemporaryDirectory(prefix="deskmate-read-") as folder:
        copy = Path(folder) / f"file{suffix.lower()}"
        with copy.open("xb") as out:
            shutil.copyfileobj(handle, out)
        try:
            blocks = parse_file(copy).blocks
        except ParseError as exc:
            raise ToolInputError(f"{path} cannot be read: {exc}") from exc
    chosen = [b.text for b in blocks if page is None or b.page == page]
    if not chosen:
        raise ToolInputError(f"{path} has no page {page}")
    return "\n".join(chosen)


def list_recent_files(index: KnowledgeIndex, limit: int = 10) -> list[tuple[str, float]]:
    """The most recently modified indexed files: (path, modified time in epoch seconds), newest first.

    Only files ``read_file`` would read are listed: one reached through a link that leads outside the roots is not.
    """
    states = index.manifest.files(index.active_generation)
    recent = sorted((s for s in states.values() if s.status == "indexed"), key=lambda s: s.mtime_ns, reverse=True)
    roots, wanted = root_paths(index), max(1, min(limit, 100))
    listed: list[tuple[str, float]] = []
    for state in recent:
        if len(listed) == wanted:
            break
        if inside(state.path, roots) and inside(os.path.realpath(state.path), roots):
            listed.append((state.path, state.mtime_ns / 1e9))
    return listed


def write_note(folder: Path, title: str, text: str) -> Path:
    """Save a Markdown note in ``folder`` (never overwriting a file, never through a link); returns its path.

    The file name is made from the title's letters and digits only, so no title can name a place outside ``folder``.
    """
    if "\x00" in title or "\x00" in text:
        raise ToolInputError("a note cannot contain NUL bytes")
    slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:60] or "note"
    body = f"# {title.strip() or 'Note'}\n\n{text.strip()}\n".encode()
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    stem = f"{time.strftime('%Y-%m-%d')}-{slug}"
    dir_fd = _notes_folder(folder)
    try:
        for n in range(1, 1000):
            name = f"{stem}.md" if n == 1 else f"{stem}-{n}.md"
            try:  # O_EXCL: an existing file or link (even a dangling one) is skipped
                fd = os.open(name if dir_fd is not None else folder / name, flags, 0o644, dir_fd=dir_fd)
            except FileExistsError:
                continue
            with os.fdopen(fd, "wb") as handle:
                handle.write(body)
            return folder / name
    finally:
        if dir_fd is not None:
            os.close(dir_fd)
    raise ToolInputError(f"too many notes named {stem!r} today; choose another title")


def _notes_folder(folder: Path) -> int | None:
    """The notes folder, created if missing and opened as itself (a link there is refused, not followed).

    Notes are then created relative to the open folder, so swapping the folder for a link later changes nothing.
    Where the system cannot open a folder (Windows) None comes back, after the same check by name.
    """
    refused = ToolInputError(f"the notes folder {folder} is a link; notes are written only into a real folder, "
                             "so replace the link with a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        if not _OPEN_AT:
            if folder.is_symlink():
                raise refused
            return None
        return os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_NOFOLLOW", 0)
                       | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        if folder.is_symlink():
            raise refused from None
        raise ToolInputError(f"the notes folder {folder} cannot be used: {exc.strerror or exc}") from None

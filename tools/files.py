"""File tools over the knowledge index: read part of an indexed file, list recent files, write a note.

Reading is confined to the indexed roots by the path sandbox (sandbox.py): a path outside them, through a link or
with ``..``, is refused, whatever the model asks for. Notes are written only inside the notes folder, never over an
existing file or through a link.
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass
from pathlib import Path

from tools.calc import ToolInputError
from tools.index.document import ParseError
from tools.index.knowledge import KnowledgeIndex
from tools.index.parsers import parse_file
from tools.sandbox import confine, inside

MAX_READ_CHARS = 6000
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
    """Text of an indexed file: one page (PDF), a line range, or the start of the file."""
    target = confine(path, root_paths(index))
    if not target.is_file():
        raise ToolInputError(f"{path} does not exist (any more)")
    if page is not None or target.suffix.lower() not in TEXT_SUFFIXES:
        try:
            blocks = parse_file(target).blocks
        except ParseError as exc:
            raise ToolInputError(f"{path} cannot be read: {exc}") from exc
        chosen = [b.text for b in blocks if page is None or b.page == page]
        if not chosen:
            raise ToolInputError(f"{path} has no page {page}")
        text, first, last = "\n".join(chosen), None, None
    else:
        lines = target.read_text(encoding="utf-8", errors="replace").splitlines()
        first = max(1, line_start or 1)
        last = min(len(lines), line_end or len(lines))
        if first > last:
            raise ToolInputError(f"{path} has {len(lines)} lines; lines {first}-{last} do not exist")
        text = "\n".join(lines[first - 1 : last])
    truncated = len(text) > MAX_READ_CHARS
    return FileExcerpt(str(target), text[:MAX_READ_CHARS], page, first, last, truncated)


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
    folder.mkdir(parents=True, exist_ok=True)
    body = f"# {title.strip() or 'Note'}\n\n{text.strip()}\n".encode()
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    stem = f"{time.strftime('%Y-%m-%d')}-{slug}"
    for n in range(1, 1000):
        target = folder / (f"{stem}.md" if n == 1 else f"{stem}-{n}.md")
        try:
            fd = os.open(target, flags, 0o644)  # O_EXCL: an existing file or link (even a dangling one) is skipped
        except FileExistsError:
            continue
        with os.fdopen(fd, "wb") as handle:
            handle.write(body)
        return target
    raise ToolInputError(f"too many notes named {stem!r} today; choose another title")

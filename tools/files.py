"""File tools over the knowledge index: read part of an indexed file, list recent files, write a note.

Reading is confined to the indexed roots: a path outside them is refused, whatever the model asks for.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path

from tools.calc import ToolInputError
from tools.index.document import ParseError
from tools.index.knowledge import KnowledgeIndex
from tools.index.parsers import parse_file

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


def _inside_roots(index: KnowledgeIndex, path: str) -> Path:
    target = Path(path).expanduser().resolve()  # resolved, so ".." and links cannot step outside a root
    if index.root_of(str(target)) is None:
        raise ToolInputError(f"{path} is not inside an indexed folder; only indexed files can be read")
    return target


def read_file(index: KnowledgeIndex, path: str, page: int | None = None, line_start: int | None = None,
              line_end: int | None = None) -> FileExcerpt:
    """Text of an indexed file: one page (PDF), a line range, or the start of the file."""
    target = _inside_roots(index, path)
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
    """The most recently modified indexed files: (path, modified time in epoch seconds), newest first."""
    states = index.manifest.files(index.active_generation)
    recent = sorted((s for s in states.values() if s.status == "indexed"), key=lambda s: s.mtime_ns, reverse=True)
    return [(s.path, s.mtime_ns / 1e9) for s in recent[: max(1, min(limit, 100))]]


def write_note(folder: Path, title: str, text: str) -> Path:
    """Save a Markdown note in ``folder`` (never overwriting one); returns its path."""
    slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:60] or "note"
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{time.strftime('%Y-%m-%d')}-{slug}.md"
    n = 1
    while target.exists():
        n += 1
        target = folder / f"{time.strftime('%Y-%m-%d')}-{slug}-{n}.md"
    target.write_text(f"# {title.strip() or 'Note'}\n\n{text.strip()}\n", encoding="utf-8")
    return target

"""The parsed form of one file: ordered text blocks with their position in the source."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

BlockKind = Literal["text", "code", "table"]


@dataclass(frozen=True, slots=True)
class Block:
    """One structural unit of a document: a paragraph, a code block, a page's paragraph, a table.

    Positions are optional because not every format has them: PDFs have pages, text files have lines and
    character offsets, DOCX has neither. Lines are 1-based and inclusive; offsets index the decoded source text.
    """

    text: str
    heading_path: tuple[str, ...] = ()
    page: int | None = None
    line_start: int | None = None
    line_end: int | None = None
    char_start: int | None = None
    char_end: int | None = None
    kind: BlockKind = "text"


@dataclass(slots=True)
class ParsedDocument:
    """What a parser returns: a title, the file type it recognised and the blocks in reading order."""

    title: str
    file_type: str
    blocks: list[Block] = field(default_factory=list)


class ParseError(Exception):
    """A file could not be parsed; ``str(error)`` is the reason shown to the user."""


@dataclass(frozen=True, slots=True)
class ParseBudget:
    """Limits a parser must respect; exceeding one raises ParseError with the limit in the message."""

    max_chars: int = 5_000_000
    max_pages: int = 2_000
    seconds: float = 60.0

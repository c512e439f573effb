"""Plain-text files: one block per blank-line-separated paragraph, with exact line and character positions."""

from __future__ import annotations

from pathlib import Path

from tools.index.document import ParseBudget, ParsedDocument
from tools.index.parsers.decoding import read_text
from tools.index.parsers.lines import LineIndex, first_line_title


def parse(path: Path, budget: ParseBudget, file_type: str) -> ParsedDocument:
    """Parse a plain-text file; the title is its first non-empty line, else the file name without extension."""
    text = read_text(path, budget)
    index = LineIndex(text)
    blocks = [index.block(first, last) for first, last in index.paragraphs()]
    return ParsedDocument(title=first_line_title(text) or path.stem, file_type=file_type, blocks=blocks)

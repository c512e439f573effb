"""Markdown files: headings become heading paths, fenced code stays whole, the rest splits into paragraphs."""

from __future__ import annotations

import re
from pathlib import Path

from tools.index.document import Block, BlockKind, ParseBudget, ParsedDocument
from tools.index.parsers.decoding import read_text
from tools.index.parsers.lines import LineIndex, clip_title

_FENCE = re.compile(r"^[ \t]*(?P<fence>`{3,}|~{3,})(?P<info>.*)$")
# Greedy text, its closing #s stripped in code (_atx_text): a lazy text followed by optional runs of blanks made the
# match quadratic in the length of a heading line with spaces in it (20,000 spaces: five seconds).
_ATX = re.compile(r"^ {0,3}(?P<hashes>#{1,6})(?:[ \t]+(?P<text>.*))?$")
_SETEXT = re.compile(r"^ {0,3}(?:(?P<equals>=+)|-+)[ \t]*$")
_THEMATIC_BREAK = re.compile(r"^ {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$")
_TABLE_DELIMITER = re.compile(r"^\s*+\|?\s*+:?-++:?\s*+(?:\|\s*+:?-++:?\s*+)*+\|?\s*+$")  # possessive: linear
_FRONT_MATTER_TITLE = re.compile(r"^title\s*:\s*(?P<title>.*?)\s*$")


class _Outline:
    """The stack of open sections while scanning, so every block knows the headings it sits under."""

    def __init__(self) -> None:
        self._open: list[tuple[int, str]] = []
        self.first_h1: str | None = None

    def enter(self, level: int, text: str) -> None:
        while self._open and self._open[-1][0] >= level:
            self._open.pop()
        title = clip_title(text)
        if title:
            self._open.append((level, title))
            if level == 1 and self.first_h1 is None:
                self.first_h1 = title

    def path(self) -> tuple[str, ...]:
        return tuple(text for _, text in self._open)


def _atx_text(raw: str) -> str:
    """A heading's text without its optional closing sequence (a run of #s after a blank, or the whole text)."""
    text = raw.rstrip(" \t")
    body = text.rstrip("#")
    if body != text and (not body or body[-1] in " \t"):
        text = body.rstrip(" \t")
    return text


def _front_matter(index: LineIndex) -> tuple[int, str | None]:
    """Where the body starts after a YAML front matter block, and the block's ``title:`` if it has one."""
    if not index.lines or index.lines[0].rstrip() != "---":
        return 0, None
    for end in range(1, len(index)):
        if index.lines[end].rstrip() in ("---", "..."):
            title = None
            for line in index.lines[1:end]:
                match = _FRONT_MATTER_TITLE.match(line)
                if match and title is None:
                    title = clip_title(match["title"].strip("\"'")) or None
            return end + 1, title
    # Without a closing line this is no front matter, just a thematic break at the top.
    return 0, None


def _closing_fence(index: LineIndex, opening: str, start: int) -> int | None:
    """Find the line closing a fence opened with ``opening``, searching from ``start``; None if it never closes."""
    closing = re.compile(rf"^[ \t]*{re.escape(opening[0])}{{{len(opening)},}}[ \t]*$")
    for line_no in range(start, len(index)):
        if closing.match(index.lines[line_no]):
            return line_no
    return None


def _is_table(index: LineIndex, first: int, last: int) -> bool:
    return last > first and "|" in index.lines[first + 1] and bool(_TABLE_DELIMITER.match(index.lines[first + 1]))


def parse(path: Path, budget: ParseBudget, file_type: str) -> ParsedDocument:
    """Parse Markdown; the title is front matter ``title:``, else the first H1, else the file name."""
    index = LineIndex(read_text(path, budget))
    line_no, front_title = _front_matter(index)
    outline = _Outline()
    blocks: list[Block] = []
    paragraph: int | None = None

    def flush(last: int) -> None:
        nonlocal paragraph
        if paragraph is not None:
            kind: BlockKind = "table" if _is_table(index, paragraph, last) else "text"
            blocks.append(index.block(paragraph, last, heading_path=outline.path(), kind=kind))
            paragraph = None

    while line_no < len(index):
        line = index.lines[line_no]
        fence = _FENCE.match(line)
        if fence and not (fence["fence"][0] == "`" and "`" in fence["info"]):
            flush(line_no - 1)
            close = _closing_fence(index, fence["fence"], line_no + 1)
            # An unclosed fence runs to the end of the document, as CommonMark has it.
            last = close if close is not None else (index.trim(line_no, len(index) - 1) or (line_no, line_no))[1]
            blocks.append(index.block(line_no, last, heading_path=outline.path(), kind="code"))
            line_no = last + 1
            continue
        atx = _ATX.match(line)
        if atx:
            flush(line_no - 1)
            outline.enter(len(atx["hashes"]), _atx_text(atx["text"] or ""))
        elif paragraph is not None and (underline := _SETEXT.match(line)) and not _is_table(index, paragraph, line_no):
            heading = " ".join(text.strip() for text in index.lines[paragraph:line_no])
            outline.enter(1 if underline["equals"] else 2, heading)
            paragraph = None
        elif not line.strip() or _THEMATIC_BREAK.match(line):
            flush(line_no - 1)
        elif paragraph is None:
            paragraph = line_no
        line_no += 1
    flush(len(index) - 1)
    title = front_title or outline.first_h1 or path.stem
    return ParsedDocument(title=title, file_type=file_type, blocks=blocks)

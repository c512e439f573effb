"""reStructuredText files: adorned section titles become heading paths, literal and code blocks stay whole."""

from __future__ import annotations

import re
from pathlib import Path

from tools.index.document import Block, ParseBudget, ParsedDocument
from tools.index.parsers.decoding import read_text
from tools.index.parsers.lines import LineIndex, clip_title

_ADORNMENT = re.compile(r"^([!-/:-@\[-`{-~])\1+[ \t]*$")
_CODE_DIRECTIVE = re.compile(r"^[ \t]*\.\.[ \t]+(?:code-block|code|sourcecode)::")


def _indent(line: str) -> int:
    expanded = line.expandtabs(8)
    return len(expanded) - len(expanded.lstrip())


def _adornment(line: str) -> str | None:
    """Return the punctuation character a title over/underline is made of, or None if ``line`` is not one."""
    match = _ADORNMENT.match(line)
    return match.group(1) if match else None


class _Sections:
    """Section levels in order of first appearance of each adornment style, as reStructuredText assigns them."""

    def __init__(self) -> None:
        self._styles: list[tuple[str, bool]] = []
        self._open: list[tuple[int, str]] = []
        self.first_title: str | None = None

    def enter(self, style: tuple[str, bool], text: str) -> None:
        if style not in self._styles:
            self._styles.append(style)
        level = self._styles.index(style)
        while self._open and self._open[-1][0] >= level:
            self._open.pop()
        title = clip_title(text)
        if title:
            self._open.append((level, title))
            self.first_title = self.first_title or title

    def path(self) -> tuple[str, ...]:
        return tuple(text for _, text in self._open)


def _title_at(index: LineIndex, line_no: int) -> tuple[tuple[str, bool], str, int] | None:
    """Detect a section title at ``line_no``: its style, its text and the number of lines it spans."""
    lines = index.lines
    over = _adornment(lines[line_no])
    if over and line_no + 2 < len(lines) and lines[line_no + 1].strip():
        under = _adornment(lines[line_no + 2])
        if under == over and not _adornment(lines[line_no + 1]):
            return (over, True), lines[line_no + 1].strip(), 3
    if line_no + 1 >= len(lines) or _indent(lines[line_no]) or not lines[line_no].strip() or over:
        return None
    under = _adornment(lines[line_no + 1])
    text = lines[line_no].strip()
    length = len(lines[line_no + 1].strip())
    # docutils accepts a short underline (with a warning) once it is at least 4 characters long.
    if under and (length >= len(text) or length >= 4):
        return (under, False), text, 2
    return None


def _indented_body(index: LineIndex, start: int, base: int) -> int | None:
    """Find the end of the block indented deeper than ``base`` that follows ``start``; None if there is none."""
    last: int | None = None
    for line_no in range(start, len(index)):
        if index.is_blank(line_no):
            continue
        if _indent(index.lines[line_no]) <= base:
            break
        last = line_no
    return last


def parse(path: Path, budget: ParseBudget, file_type: str) -> ParsedDocument:
    """Parse reStructuredText; the title is the first section title, else the file name."""
    index = LineIndex(read_text(path, budget))
    sections = _Sections()
    blocks: list[Block] = []
    line_no = 0
    while line_no < len(index):
        if index.is_blank(line_no):
            line_no += 1
            continue
        title = _title_at(index, line_no)
        if title:
            style, text, span = title
            sections.enter(style, text)
            line_no += span
            continue
        line = index.lines[line_no]
        if _CODE_DIRECTIVE.match(line):
            last = _indented_body(index, line_no + 1, _indent(line)) or line_no
            blocks.append(index.block(line_no, last, heading_path=sections.path(), kind="code"))
            line_no = last + 1
            continue
        if _adornment(line) and len(line.strip()) >= 4:
            line_no += 1  # a transition: a horizontal rule, no text
            continue
        last = line_no
        while last + 1 < len(index) and not index.is_blank(last + 1):
            last += 1
        if line.strip() != "::":  # a lone "::" only announces the literal block below
            blocks.append(index.block(line_no, last, heading_path=sections.path()))
        line_no = last + 1
        # "::" ending a paragraph (not a directive) introduces an indented literal block.
        if index.lines[last].rstrip().endswith("::") and not line.lstrip().startswith(".."):
            body_end = _indented_body(index, line_no, _indent(line))
            if body_end is not None:
                body = index.trim(line_no, body_end)
                if body:
                    blocks.append(index.block(body[0], body[1], heading_path=sections.path(), kind="code"))
                line_no = body_end + 1
    return ParsedDocument(title=sections.first_title or path.stem, file_type=file_type, blocks=blocks)

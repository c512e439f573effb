"""CSV and TSV files: rows rendered as "column: value" pairs, grouped into table blocks with their line ranges."""

from __future__ import annotations

import csv
import io
from collections import Counter
from pathlib import Path

from tools.index.document import Block, ParseBudget, ParsedDocument, ParseError
from tools.index.parsers.decoding import check_chars, read_text
from tools.index.parsers.lines import LineIndex

ROWS_PER_BLOCK = 20
_SNIFF_CHARS = 4096
_DELIMITERS = ",;\t|"  # in order of preference when two split the sample equally well


def _delimiter(text: str, file_type: str) -> str:
    """The delimiter that most consistently splits the opening rows into the same number (above one) of fields.

    Not csv.Sniffer: its regular expressions backtrack on a run of quotes, so a 300-byte file took seconds and a
    4 KB one would take hours (in the worker, the whole time budget; in a one-file sync, without a budget).
    """
    if file_type == "tsv":
        return "\t"
    sample = text[:_SNIFF_CHARS]
    best, best_score = ",", (0.0, 0)
    for candidate in _DELIMITERS:
        try:
            widths = Counter(len(row) for row in csv.reader(io.StringIO(sample), delimiter=candidate) if row)
        except csv.Error:
            continue
        if not widths:
            continue
        width, rows = widths.most_common(1)[0]
        score = (rows / widths.total(), width)
        if width > 1 and score > best_score:
            best, best_score = candidate, score
    return best


def _render(header: list[str], row: list[str]) -> str:
    """One row as "name: Alice; age: 31": each value carries its column, which is what a search matches."""
    pairs: list[str] = []
    for position, value in enumerate(row):
        value = " ".join(value.split())
        if not value:
            continue
        name = header[position].strip() if position < len(header) else ""
        pairs.append(f"{name or f'column {position + 1}'}: {value}")
    return "; ".join(pairs)


def parse(path: Path, budget: ParseBudget, file_type: str) -> ParsedDocument:
    """Parse CSV/TSV with the first row as the header; each block holds up to ``ROWS_PER_BLOCK`` rows."""
    text = read_text(path, budget)
    index = LineIndex(text)
    reader = csv.reader(io.StringIO(text), delimiter=_delimiter(text, file_type))
    header: list[str] | None = None
    header_lines = (0, 0)
    rows: list[tuple[int, int, str]] = []  # (first line, last line, rendered), 0-based
    consumed = 0
    try:
        for row in reader:
            # A quoted field may span lines, so a row's extent comes from how far the reader has read.
            first, consumed = consumed, reader.line_num
            if not any(cell.strip() for cell in row):
                continue
            if header is None:
                header, header_lines = row, (first, consumed - 1)
                continue
            rendered = _render(header, row)
            if rendered:
                rows.append((first, consumed - 1, rendered))
    except csv.Error as error:
        raise ParseError(f"malformed {file_type.upper()} at line {reader.line_num}: {error}") from error
    if header is not None and not rows:
        # A header without data still says what the file is about.
        rows.append((*header_lines, " | ".join(cell.strip() for cell in header)))
    blocks: list[Block] = []
    chars = 0
    for start in range(0, len(rows), ROWS_PER_BLOCK):
        group = rows[start : start + ROWS_PER_BLOCK]
        span = index.block(group[0][0], group[-1][1])
        block_text = "\n".join(rendered for _, _, rendered in group)
        chars += len(block_text)
        check_chars(chars, budget)
        blocks.append(
            Block(
                text=block_text,
                line_start=span.line_start,
                line_end=span.line_end,
                char_start=span.char_start,
                char_end=span.char_end,
                kind="table",
            )
        )
    return ParsedDocument(title=path.stem, file_type=file_type, blocks=blocks)

"""Plain text and the shared decoding rules: paragraphs with exact positions, encodings, binary, budgets."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.parsers.helpers import assert_slice, texts
from tools.index.document import ParseBudget, ParseError
from tools.index.parsers import parse_file


def test_paragraphs_with_exact_lines_and_offsets(tmp_path: Path) -> None:
    """Blank lines separate paragraphs; each block's lines and offsets point at exactly its text."""
    source = "\n  Meeting notes  \nsecond line\n\n\nNext paragraph\n   \nLast one\n"
    path = tmp_path / "notes.txt"
    path.write_text(source, encoding="utf-8")
    document = parse_file(path)
    assert document.file_type == "text"
    assert document.title == "Meeting notes"
    assert texts(document.blocks) == ["  Meeting notes  \nsecond line", "Next paragraph", "Last one"]
    assert [(block.line_start, block.line_end) for block in document.blocks] == [(2, 3), (6, 6), (8, 8)]
    for block in document.blocks:
        assert block.kind == "text"
        assert block.heading_path == ()
        assert_slice(source, block)


def test_title_falls_back_to_stem_and_is_capped(tmp_path: Path) -> None:
    """A whitespace-only file is titled by its stem; a very long first line is cut to 200 characters."""
    blank = tmp_path / "blank.txt"
    blank.write_text("  \n\n", encoding="utf-8")
    assert parse_file(blank).title == "blank"
    long = tmp_path / "long.txt"
    long.write_text("x" * 500 + "\n", encoding="utf-8")
    assert parse_file(long).title == "x" * 200


def test_utf8_bom_is_stripped_and_crlf_normalised(tmp_path: Path) -> None:
    """The BOM is not text, and CRLF line ends count as one line each, like an editor shows them."""
    path = tmp_path / "windows.txt"
    path.write_bytes(b"\xef\xbb\xbfFirst\r\nstill first\r\n\r\nSecond\r\n")
    document = parse_file(path)
    assert document.title == "First"
    assert texts(document.blocks) == ["First\nstill first", "Second"]
    assert (document.blocks[1].line_start, document.blocks[1].char_start) == (4, 19)


def test_utf16_with_bom_is_accepted(tmp_path: Path) -> None:
    """UTF-16 text with a byte order mark decodes despite its NUL bytes."""
    path = tmp_path / "utf16.txt"
    path.write_bytes("Grüße\n\nzweiter Absatz".encode("utf-16"))
    assert texts(parse_file(path).blocks) == ["Grüße", "zweiter Absatz"]


def test_invalid_utf8_reports_the_byte_offset(tmp_path: Path) -> None:
    """Latin-1 bytes are not silently guessed at: the error names the first bad byte's offset."""
    path = tmp_path / "latin1.txt"
    path.write_bytes("café au lait".encode("latin-1"))
    with pytest.raises(ParseError, match=r"^not valid UTF-8 text \(invalid byte at offset 3\)$"):
        parse_file(path)


def test_invalid_utf8_offset_counts_the_bom(tmp_path: Path) -> None:
    """The offset is into the file as stored, so a stripped BOM still counts."""
    path = tmp_path / "bom.txt"
    path.write_bytes(b"\xef\xbb\xbfab\xff")
    with pytest.raises(ParseError, match=r"offset 5\)"):
        parse_file(path)


def test_binary_content_is_rejected(tmp_path: Path) -> None:
    """NUL bytes early in a .txt mean it is not text at all."""
    path = tmp_path / "blob.txt"
    path.write_bytes(bytes(range(256)) * 8)
    with pytest.raises(ParseError, match="^binary content in a text file$"):
        parse_file(path)


def test_character_budget(tmp_path: Path) -> None:
    """Text over budget.max_chars is refused with the limit in the message; text at the limit is fine."""
    path = tmp_path / "big.txt"
    path.write_text("x" * 120, encoding="utf-8")
    assert parse_file(path, ParseBudget(max_chars=120)).blocks[0].text == "x" * 120
    with pytest.raises(ParseError, match="^file larger than the 100-character budget$"):
        parse_file(path, ParseBudget(max_chars=100))
    default = ParseBudget()
    assert f"{default.max_chars:,}" == "5,000,000"


def test_huge_file_is_refused_before_decoding(tmp_path: Path) -> None:
    """A file with more bytes than any encoding could need for the budget is refused without decoding it."""
    path = tmp_path / "huge.txt"
    path.write_bytes(b"\xff" * 1000)  # invalid UTF-8, so only the size check can explain the message
    with pytest.raises(ParseError, match="character budget"):
        parse_file(path, ParseBudget(max_chars=10))

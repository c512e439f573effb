"""PDF: page numbers on every block, titles, and each way a PDF can fail with a readable reason."""

from __future__ import annotations

from pathlib import Path

import pytest
from pypdf import PasswordType, PdfReader, PdfWriter

from tests.unit.parsers.pdf_factory import make_pdf
from tools.index.document import ParseBudget, ParseError
from tools.index.parsers import parse_file

PAGES = [
    "Quarterly Report\nRevenue grew in every region.\n\nCosts fell by a tenth.",
    "Second page about (parenthesised) hiring.",
    "Third page\nclosing remarks\nand thanks",
]


def test_factory_round_trip(tmp_path: Path) -> None:
    """make_pdf writes one text line per input line, which pypdf reads back as written."""
    path = tmp_path / "round.pdf"
    make_pdf(path, PAGES, title="Réport")
    reader = PdfReader(path)
    assert len(reader.pages) == 3
    assert reader.metadata is not None and reader.metadata.title == "Réport"
    assert reader.pages[2].extract_text().split("\n") == ["Third page", "closing remarks", "and thanks"]
    assert reader.pages[1].extract_text() == PAGES[1]


def test_factory_encrypts_and_keeps_the_title(tmp_path: Path) -> None:
    """With a password the file opens only with it, and the title survives the encryption."""
    path = tmp_path / "locked.pdf"
    make_pdf(path, ["secret text"], title="Locked", password="pw")
    reader = PdfReader(path)
    assert reader.is_encrypted
    assert reader.decrypt("pw") != PasswordType.NOT_DECRYPTED
    assert reader.metadata is not None and reader.metadata.title == "Locked"
    assert reader.pages[0].extract_text() == "secret text"


def test_pages_and_paragraphs(tmp_path: Path) -> None:
    """Every block carries its 1-based page; blank lines split a page into paragraphs."""
    path = tmp_path / "report.pdf"
    make_pdf(path, PAGES, title="Q3 Report")
    document = parse_file(path)
    assert document.file_type == "pdf"
    assert document.title == "Q3 Report"
    assert [(block.page, block.text) for block in document.blocks] == [
        (1, "Quarterly Report\nRevenue grew in every region."),
        (1, "Costs fell by a tenth."),
        (2, "Second page about (parenthesised) hiring."),
        (3, "Third page\nclosing remarks\nand thanks"),
    ]
    assert all(block.kind == "text" and block.line_start is None for block in document.blocks)


def test_title_from_first_line_or_stem(tmp_path: Path) -> None:
    """Without /Title metadata the first line of text is the title."""
    path = tmp_path / "untitled.pdf"
    make_pdf(path, PAGES)
    assert parse_file(path).title == "Quarterly Report"


def test_long_page_without_blank_lines_is_grouped(tmp_path: Path) -> None:
    """A page of many lines and no blank lines is cut into groups of about 1000 characters at line ends."""
    lines = [f"line {number:03d} " + "x" * 60 for number in range(60)]
    path = tmp_path / "dense.pdf"
    make_pdf(path, ["\n".join(lines)])
    blocks = parse_file(path).blocks
    assert len(blocks) > 2
    assert all(len(block.text) <= 1100 and block.page == 1 for block in blocks)
    assert "\n".join(block.text for block in blocks).split("\n") == lines


def test_blank_page_is_skipped(tmp_path: Path) -> None:
    """A page without text makes no block; the others keep their true page numbers."""
    path = tmp_path / "gap.pdf"
    make_pdf(path, ["first", "", "third"])
    assert [(block.page, block.text) for block in parse_file(path).blocks] == [(1, "first"), (3, "third")]


def test_no_text_at_all(tmp_path: Path) -> None:
    """A PDF whose pages hold no text (a scan) is reported as such."""
    path = tmp_path / "scan.pdf"
    make_pdf(path, ["", ""])
    with pytest.raises(ParseError, match=r"^no extractable text \(scanned or image-only PDF\?\)$"):
        parse_file(path)


def test_user_password_is_refused(tmp_path: Path) -> None:
    """A PDF that needs a password to open is refused with that reason."""
    path = tmp_path / "secret.pdf"
    make_pdf(path, PAGES, password="secret")
    with pytest.raises(ParseError, match=r"^PDF is encrypted \(password required\)$"):
        parse_file(path)


def test_owner_password_only_still_opens(tmp_path: Path) -> None:
    """An 'encrypted' PDF with an empty user password (only editing restricted) is read normally."""
    plain = tmp_path / "plain.pdf"
    make_pdf(plain, PAGES)
    writer = PdfWriter(clone_from=PdfReader(plain))
    writer.encrypt(user_password="", owner_password="owner-only", algorithm="RC4-128")
    locked = tmp_path / "restricted.pdf"
    with locked.open("wb") as handle:
        writer.write(handle)
    assert PdfReader(locked).is_encrypted
    assert [block.page for block in parse_file(locked).blocks] == [1, 1, 2, 3]


def test_truncated_pdf(tmp_path: Path) -> None:
    """The first half of a valid PDF is reported as corrupt or truncated."""
    whole = tmp_path / "whole.pdf"
    make_pdf(whole, PAGES)
    half = tmp_path / "half.pdf"
    half.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    with pytest.raises(ParseError, match=r"^corrupt or truncated PDF: .+"):
        parse_file(half)


def test_not_a_pdf_and_empty_file(tmp_path: Path) -> None:
    """Text named .pdf and a zero-byte .pdf are both refused."""
    fake = tmp_path / "fake.pdf"
    fake.write_text("this is not a pdf", encoding="utf-8")
    with pytest.raises(ParseError, match="corrupt or truncated PDF"):
        parse_file(fake)
    empty = tmp_path / "empty.pdf"
    empty.write_bytes(b"")
    with pytest.raises(ParseError, match="empty file"):
        parse_file(empty)


def test_pdf_without_pages(tmp_path: Path) -> None:
    """A well-formed PDF with an empty page tree has nothing to index and says so."""
    path = tmp_path / "nopages.pdf"
    make_pdf(path, [])
    with pytest.raises(ParseError, match="no pages could be read"):
        parse_file(path)


def test_page_budget(tmp_path: Path) -> None:
    """More pages than budget.max_pages is refused before any text is extracted."""
    path = tmp_path / "long.pdf"
    make_pdf(path, ["one", "two", "three"])
    assert len(parse_file(path, ParseBudget(max_pages=3)).blocks) == 3
    with pytest.raises(ParseError, match=r"^more than 2 pages"):
        parse_file(path, ParseBudget(max_pages=2))


def test_character_and_time_budgets(tmp_path: Path) -> None:
    """Extracted text over budget.max_chars is refused; a spent time budget stops the parse."""
    path = tmp_path / "chars.pdf"
    make_pdf(path, ["a" * 80, "b" * 80])
    with pytest.raises(ParseError, match="100-character budget"):
        parse_file(path, ParseBudget(max_chars=100))
    with pytest.raises(ParseError, match="0-second budget"):
        parse_file(path, ParseBudget(seconds=0))

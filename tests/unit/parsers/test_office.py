"""DOCX and ODT: heading styles build heading paths, tables become one block, broken files are ParseErrors."""

from __future__ import annotations

import zipfile
from pathlib import Path

import docx
import pytest
from odf import dc  # type: ignore[import-untyped, unused-ignore]
from odf.opendocument import OpenDocumentText  # type: ignore[import-untyped, unused-ignore]
from odf.table import Table, TableCell, TableColumn, TableRow  # type: ignore[import-untyped, unused-ignore]
from odf.text import H, List, ListItem, P, Span  # type: ignore[import-untyped, unused-ignore]

from tests.unit.parsers.helpers import texts
from tools.index.document import ParseBudget, ParseError
from tools.index.parsers import parse_file


def _make_docx(path: Path, *, core_title: str = "") -> None:
    document = docx.Document()
    document.core_properties.title = core_title
    document.add_heading("Styled Title", level=0)
    document.add_paragraph("Opening words.")
    document.add_heading("Budget", level=1)
    document.add_paragraph("We spend carefully.")
    document.add_paragraph("")
    document.add_heading("Travel", level=2)
    document.add_paragraph("Trains over planes.")
    table = document.add_table(rows=3, cols=3)
    for row, values in zip(
        table.rows, [("Item", "Cost", "Note"), ("Rail", "120", ""), ("Hotel", "300", "2 nights")], strict=True
    ):
        for cell, value in zip(row.cells, values, strict=True):
            cell.text = value
    merged = table.cell(2, 1).merge(table.cell(2, 2))
    merged.text = "300"
    document.add_heading("Summary", level=1)
    document.add_paragraph("All within budget.")
    document.save(str(path))


def test_docx_headings_paragraphs_and_tables(tmp_path: Path) -> None:
    """Heading styles nest; the table is one block, its merged cell once; empty paragraphs are dropped."""
    path = tmp_path / "plan.docx"
    _make_docx(path)
    document = parse_file(path)
    assert document.file_type == "docx"
    assert document.title == "Styled Title"
    summary = [(block.kind, block.heading_path, block.text) for block in document.blocks]
    assert summary == [
        ("text", (), "Opening words."),
        ("text", ("Budget",), "We spend carefully."),
        ("text", ("Budget", "Travel"), "Trains over planes."),
        ("table", ("Budget", "Travel"), "Item | Cost | Note\nRail | 120\nHotel | 300"),
        ("text", ("Summary",), "All within budget."),
    ]
    assert all(block.page is None and block.line_start is None for block in document.blocks)


def test_docx_title_prefers_core_properties_then_heading_then_stem(tmp_path: Path) -> None:
    """The core-properties title wins; a document with only headings uses the first; a bare one its name."""
    titled = tmp_path / "titled.docx"
    _make_docx(titled, core_title="Travel Plan 2025")
    assert parse_file(titled).title == "Travel Plan 2025"
    headed = tmp_path / "headed.docx"
    document = docx.Document()
    document.add_heading("First Heading", level=2)
    document.add_paragraph("body")
    document.save(str(headed))
    assert parse_file(headed).title == "First Heading"
    bare = tmp_path / "bare-doc.docx"
    document = docx.Document()
    document.add_paragraph("just text")
    document.save(str(bare))
    assert parse_file(bare).title == "bare-doc"
    assert texts(parse_file(bare).blocks) == ["just text"]


def test_docx_broken_inputs(tmp_path: Path) -> None:
    """A zero-byte file, random text and a zip that is not a Word document are all ParseErrors."""
    empty = tmp_path / "empty.docx"
    empty.write_bytes(b"")
    with pytest.raises(ParseError, match=r"^empty file \(0 bytes\) is not a valid DOCX document$"):
        parse_file(empty)
    text = tmp_path / "text.docx"
    text.write_text("not a zip at all", encoding="utf-8")
    with pytest.raises(ParseError, match="^not a valid DOCX file: "):
        parse_file(text)
    other_zip = tmp_path / "other.docx"
    with zipfile.ZipFile(other_zip, "w") as archive:
        archive.writestr("hello.txt", "hi")
    with pytest.raises(ParseError, match="^not a valid DOCX file: "):
        parse_file(other_zip)


def test_docx_character_budget(tmp_path: Path) -> None:
    """Extracted text over the budget is refused."""
    path = tmp_path / "plan.docx"
    _make_docx(path)
    with pytest.raises(ParseError, match="20-character budget"):
        parse_file(path, ParseBudget(max_chars=20))


def _make_odt(path: Path, *, meta_title: str | None) -> None:
    document = OpenDocumentText()
    if meta_title is not None:
        document.meta.addElement(dc.Title(text=meta_title))
    document.text.addElement(P(text="Preface text."))
    document.text.addElement(H(outlinelevel=1, text="Methods"))
    paragraph = P(text="We measured ")
    paragraph.addElement(Span(text="twice."))
    document.text.addElement(paragraph)
    document.text.addElement(H(outlinelevel=2, text="Tools"))
    items = List()
    for word in ("ruler", "scale"):
        item = ListItem()
        item.addElement(P(text=word))
        items.addElement(item)
    document.text.addElement(items)
    table = Table(name="Results")
    table.addElement(TableColumn(numbercolumnsrepeated=2))
    for values in (("Tool", "Error"), ("ruler", "1 mm")):
        row = TableRow()
        table.addElement(row)
        for value in values:
            cell = TableCell()
            cell.addElement(P(text=value))
            row.addElement(cell)
    document.text.addElement(table)
    document.text.addElement(H(outlinelevel=1, text="Results"))
    document.text.addElement(P(text="It worked."))
    document.save(str(path))


def test_odt_headings_lists_and_tables(tmp_path: Path) -> None:
    """text:h outline levels nest, list items are paragraphs, the table is one block; dc:title is the title."""
    path = tmp_path / "study.odt"
    _make_odt(path, meta_title="A Small Study")
    document = parse_file(path)
    assert document.file_type == "odt"
    assert document.title == "A Small Study"
    summary = [(block.kind, block.heading_path, block.text) for block in document.blocks]
    assert summary == [
        ("text", (), "Preface text."),
        ("text", ("Methods",), "We measured twice."),
        ("text", ("Methods", "Tools"), "ruler"),
        ("text", ("Methods", "Tools"), "scale"),
        ("table", ("Methods", "Tools"), "Tool | Error\nruler | 1 mm"),
        ("text", ("Results",), "It worked."),
    ]


def test_odt_title_fallback_and_broken_inputs(tmp_path: Path) -> None:
    """Without metadata the first heading is the title; zero-byte and non-zip files are ParseErrors."""
    path = tmp_path / "untitled.odt"
    _make_odt(path, meta_title=None)
    assert parse_file(path).title == "Methods"
    empty = tmp_path / "empty.odt"
    empty.write_bytes(b"")
    with pytest.raises(ParseError, match="empty file"):
        parse_file(empty)
    junk = tmp_path / "junk.odt"
    junk.write_bytes(b"PK\x03\x04 definitely truncated")
    with pytest.raises(ParseError, match="^not a valid ODT file: "):
        parse_file(junk)

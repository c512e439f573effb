"""EPUB: chapters in spine order, each block's heading path starting with its chapter title."""

from __future__ import annotations

from pathlib import Path

import pytest
from ebooklib import epub  # type: ignore[import-untyped, unused-ignore]

from tools.index.document import ParseError
from tools.index.parsers import parse_file


def _make_epub(path: Path) -> None:
    book = epub.EpubBook()
    book.set_identifier("deskmate-test-book")
    book.set_title("The Field Guide")
    book.set_language("en")
    one = epub.EpubHtml(title="Chapter One", file_name="one.xhtml", lang="en")
    one.content = (
        "<html><body><h1>Chapter One</h1><p>Birds sing at dawn.</p>"
        "<h2>Sparrows</h2><p>Small and brown.</p><pre>count = 3</pre></body></html>"
    )
    two = epub.EpubHtml(title="Chapter Two", file_name="two.xhtml", lang="en")
    two.content = "<html><body><h1>Night</h1><p>Owls hunt.</p></body></html>"
    book.add_item(one)
    book.add_item(two)
    book.toc = (epub.Link("one.xhtml", "Chapter One", "one"), epub.Link("two.xhtml", "Nocturnal Birds", "two"))
    book.add_item(epub.EpubNcx())
    book.add_item(epub.EpubNav())
    book.spine = ["nav", one, two]
    epub.write_epub(str(path), book)


def test_chapters_titles_and_heading_paths(tmp_path: Path) -> None:
    """The nav document is skipped; a chapter's repeated h1 is not doubled; the TOC names each chapter."""
    path = tmp_path / "guide.epub"
    _make_epub(path)
    document = parse_file(path)
    assert document.file_type == "epub"
    assert document.title == "The Field Guide"
    summary = [(block.kind, block.heading_path, block.text) for block in document.blocks]
    assert summary == [
        ("text", ("Chapter One",), "Birds sing at dawn."),
        ("text", ("Chapter One", "Sparrows"), "Small and brown."),
        ("code", ("Chapter One", "Sparrows"), "count = 3"),
        ("text", ("Nocturnal Birds", "Night"), "Owls hunt."),
    ]


def test_broken_epub(tmp_path: Path) -> None:
    """Zero bytes and a non-zip file named .epub are ParseErrors with a reason."""
    empty = tmp_path / "empty.epub"
    empty.write_bytes(b"")
    with pytest.raises(ParseError, match="empty file"):
        parse_file(empty)
    junk = tmp_path / "junk.epub"
    junk.write_text("<html>not a book</html>", encoding="utf-8")
    with pytest.raises(ParseError, match="^not a valid EPUB file: "):
        parse_file(junk)

"""EPUB books via ebooklib: each spine document parsed as HTML, its blocks filed under the chapter title."""

from __future__ import annotations

import posixpath
import warnings
from dataclasses import replace
from pathlib import Path
from typing import Any

import ebooklib  # type: ignore[import-untyped, unused-ignore]
from ebooklib import epub  # type: ignore[import-untyped, unused-ignore]

from tools.index.document import Block, ParseBudget, ParsedDocument, ParseError
from tools.index.parsers.decoding import Deadline, check_chars, error_detail, require_content
from tools.index.parsers.html import html_content
from tools.index.parsers.lines import clip_title


def _toc_titles(entries: Any, titles: dict[str, str]) -> dict[str, str]:
    """Map each document href (without #fragment) to the first table-of-contents title that points at it."""
    for entry in entries or ():
        if isinstance(entry, tuple | list):
            # A nested section: (Section, [children]).
            if entry:
                _toc_titles([entry[0]], titles)
            if len(entry) > 1:
                _toc_titles(entry[1], titles)
            continue
        href = getattr(entry, "href", None)
        title = clip_title(str(getattr(entry, "title", "") or ""))
        if href and title:
            titles.setdefault(posixpath.normpath(str(href).split("#", 1)[0]), title)
    return titles


def _book_title(book: Any, fallback: str) -> str:
    for value, _attributes in book.get_metadata("DC", "title") or ():
        title = clip_title(str(value or ""))
        if title:
            return title
    return fallback


def _chapter_path(chapter: str | None, path: tuple[str, ...]) -> tuple[str, ...]:
    if not chapter:
        return path
    # A chapter usually opens with a heading that repeats its title; keep that title once.
    return (chapter, *path[1:]) if path[:1] == (chapter,) else (chapter, *path)


def parse(path: Path, budget: ParseBudget, file_type: str) -> ParsedDocument:
    """Parse an EPUB; the title is the book's Dublin Core title, else the file name."""
    require_content(path, "EPUB")
    deadline = Deadline(budget)
    try:
        with warnings.catch_warnings():
            # ebooklib warns about its own future defaults; nothing a reader of the book can act on.
            warnings.simplefilter("ignore")
            book = epub.read_epub(str(path), options={"ignore_ncx": True})
    except Exception as error:
        raise ParseError(f"not a valid EPUB file: {error_detail(error)}") from error
    toc = _toc_titles(book.toc, {})
    blocks: list[Block] = []
    chars = 0
    for entry in book.spine:
        deadline.check()
        # Spine entries are (idref, linear) pairs when read from a file, bare idrefs when built in code.
        item = book.get_item_with_id(entry[0] if isinstance(entry, tuple | list) else entry)
        if item is None or isinstance(item, epub.EpubNav) or item.get_type() != ebooklib.ITEM_DOCUMENT:
            continue
        content = html_content(item.get_content(), budget)
        chapter = toc.get(posixpath.normpath(str(item.get_name()))) or content.first_heading or content.title
        for block in content.blocks:
            chars += len(block.text)
            check_chars(chars, budget)
            blocks.append(replace(block, heading_path=_chapter_path(chapter, block.heading_path)))
    return ParsedDocument(title=_book_title(book, path.stem), file_type=file_type, blocks=blocks)

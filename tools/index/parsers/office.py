"""Word-processor documents (DOCX via python-docx, ODT via odfpy): paragraphs under headings, tables whole."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docx
from docx.document import Document as DocxDocument
from docx.table import Table
from odf import teletype  # type: ignore[import-untyped, unused-ignore]
from odf.namespaces import DCNS, TABLENS, TEXTNS  # type: ignore[import-untyped, unused-ignore]
from odf.opendocument import load as load_odf  # type: ignore[import-untyped, unused-ignore]

from tools.index.document import Block, BlockKind, ParseBudget, ParsedDocument, ParseError
from tools.index.parsers.decoding import Deadline, check_chars, error_detail, require_content
from tools.index.parsers.lines import clip_title

_HEADING_STYLE = re.compile(r"^heading\s*([1-9])$", re.IGNORECASE)
# Generated or hidden content that would only repeat the document's text: tables of contents, change tracking.
_ODF_ROW_GROUPS = frozenset({(TABLENS, "table-header-rows"), (TABLENS, "table-rows"), (TABLENS, "table-row-group")})
_ODF_SKIP = frozenset({(TEXTNS, "table-of-content"), (TEXTNS, "tracked-changes"), (TEXTNS, "sequence-decls")})


class _Outline:
    """Collects blocks under the current heading path and the title candidates found along the way."""

    def __init__(self, budget: ParseBudget) -> None:
        self._budget = budget
        self._deadline = Deadline(budget)
        self._chars = 0
        self._open: list[tuple[int, str]] = []
        self.title_style: str | None = None
        self.first_heading: str | None = None
        self.blocks: list[Block] = []

    def heading(self, level: int, text: str) -> None:
        while self._open and self._open[-1][0] >= level:
            self._open.pop()
        title = clip_title(text)
        if title:
            self._open.append((level, title))
            self.first_heading = self.first_heading or title

    def add(self, text: str, kind: BlockKind = "text") -> None:
        text = text.strip()
        if not text:
            return
        self._deadline.check()
        self._chars += len(text)
        check_chars(self._chars, self._budget)
        self.blocks.append(Block(text=text, heading_path=tuple(title for _, title in self._open), kind=kind))


def _docx_table(table: Table) -> str:
    rows: list[str] = []
    for row in table.rows:
        cells: list[str] = []
        previous: object = None
        for cell in row.cells:
            # A merged cell is returned once per grid column it spans; the same XML element marks the repeats.
            if cell._tc is previous:
                continue
            previous = cell._tc
            cells.append(" ".join(cell.text.split()))
        while cells and not cells[-1]:
            cells.pop()  # trailing empty cells carry no content
        if cells:
            rows.append(" | ".join(cells))
    return "\n".join(rows)


def parse_docx(path: Path, budget: ParseBudget, file_type: str) -> ParsedDocument:
    """Parse a DOCX; the title is the core-properties title, else a Title paragraph, else the first heading."""
    require_content(path, "DOCX")
    try:
        document = docx.Document(str(path))
    except Exception as error:
        raise ParseError(f"not a valid DOCX file: {error_detail(error)}") from error
    outline = _Outline(budget)
    try:
        _docx_outline(document, outline)
    except ParseError:
        raise
    except Exception as error:  # python-docx reads the body and styles lazily: damage there surfaces only now
        raise ParseError(f"damaged DOCX file: {error_detail(error)}") from error
    title = clip_title(_core_title(document)) or outline.title_style or outline.first_heading
    return ParsedDocument(title=title or path.stem, file_type=file_type, blocks=outline.blocks)


def _docx_outline(document: DocxDocument, outline: _Outline) -> None:
    for item in document.iter_inner_content():
        if isinstance(item, Table):
            outline.add(_docx_table(item), "table")
            continue
        style = item.style.name if item.style is not None and item.style.name else ""
        heading = _HEADING_STYLE.match(style)
        if heading:
            outline.heading(int(heading.group(1)), item.text)
        elif style.lower() == "title":
            outline.title_style = outline.title_style or clip_title(item.text) or None
        else:
            outline.add(item.text)


def _core_title(document: DocxDocument) -> str:
    try:
        return document.core_properties.title or ""
    except Exception:  # a damaged docProps/core.xml only costs us the title (python-docx: AttributeError and such)
        return ""


def _qname(node: Any) -> tuple[str, str] | None:
    name = getattr(node, "qname", None)
    return (str(name[0]), str(name[1])) if name else None


def _odf_text(node: Any) -> str:
    return str(teletype.extractText(node))


def _odf_rows(table: Any) -> Iterator[Any]:
    """Rows of an ODF table, including those inside header-row and row-group wrappers, but not nested tables'."""
    for child in table.childNodes:
        name = _qname(child)
        if name == (TABLENS, "table-row"):
            yield child
        elif name in _ODF_ROW_GROUPS:
            yield from _odf_rows(child)


def _odf_table(table: Any) -> str:
    rows: list[str] = []
    for row in _odf_rows(table):
        cells = [
            " ".join(_odf_text(cell).split()) for cell in row.childNodes if _qname(cell) == (TABLENS, "table-cell")
        ]
        while cells and not cells[-1]:
            cells.pop()
        if cells:
            rows.append(" | ".join(cells))
    return "\n".join(rows)


def parse_odt(path: Path, budget: ParseBudget, file_type: str) -> ParsedDocument:
    """Parse an ODT; the title is the dc:title metadata, else a Title paragraph, else the first heading."""
    require_content(path, "ODT")
    try:
        document = load_odf(str(path))
    except Exception as error:
        raise ParseError(f"not a valid ODT file: {error_detail(error)}") from error
    # odfpy sets .text only for a text document with a body: a damaged or missing content.xml, or a spreadsheet
    # renamed to .odt, has none, and would otherwise fail below with an AttributeError for a reason.
    body = getattr(document, "text", None)
    if body is None:
        raise ParseError("not a valid ODT file: no text body (content.xml missing, damaged or not a text document)")
    outline = _Outline(budget)
    # Depth-first over the body with an explicit stack of child lists, so nested lists and sections keep order.
    stack: list[Iterator[Any]] = [iter(body.childNodes)]
    while stack:
        node = next(stack[-1], None)
        if node is None:
            stack.pop()
            continue
        name = _qname(node)
        if name == (TEXTNS, "h"):
            level = str(node.getAttrNS(TEXTNS, "outline-level") or "1")
            outline.heading(int(level) if level.isdigit() else 1, _odf_text(node))
        elif name == (TEXTNS, "p"):
            if node.getAttrNS(TEXTNS, "style-name") == "Title":
                outline.title_style = outline.title_style or clip_title(_odf_text(node)) or None
            else:
                outline.add(_odf_text(node))
        elif name == (TABLENS, "table"):
            outline.add(_odf_table(node), "table")
        elif name is not None and name not in _ODF_SKIP and node.childNodes:
            stack.append(iter(node.childNodes))
    meta_title = next(
        (_odf_text(node) for node in document.meta.childNodes if _qname(node) == (DCNS, "title")),
        "",
    )
    title = clip_title(meta_title) or outline.title_style or outline.first_heading
    return ParsedDocument(title=title or path.stem, file_type=file_type, blocks=outline.blocks)

"""HTML pages (and EPUB chapters): visible text as paragraph, code and table blocks under their headings.

Visible means what a reader of the page sees: comments, scripts, styles and elements hidden by inline styling
(display:none, font-size:0, text coloured like its background; see visibility.py) are dropped, so hidden text
never reaches the index, and through it the model.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from bs4 import (
    BeautifulSoup,
    MarkupResemblesLocatorWarning,
    ParserRejectedMarkup,
    UnicodeDammit,
    XMLParsedAsHTMLWarning,
)
from bs4.element import CData, NavigableString, PageElement, PreformattedString, Tag

from tools.index.document import Block, BlockKind, ParseBudget, ParsedDocument, ParseError
from tools.index.parsers.decoding import check_chars, looks_binary, read_bytes
from tools.index.parsers.lines import clip_title
from tools.index.parsers.visibility import background_of, declarations, hidden_by

_DROP = frozenset({"script", "style", "noscript", "template", "head", "title", "iframe", "object", "canvas", "svg"})
# Elements that start a new block; anything else (span, a, em, custom elements...) flows inside the current one.
_BOUNDARY = frozenset(
    "address article aside blockquote body caption center dd details dialog div dl dt fieldset figcaption figure"
    " footer form header hgroup hr html legend li main menu nav ol p search section summary ul".split()
)
# Where inline text needs a space so that words do not run together: blocks, breaks, and table cells and rows
# (a nested table, or a row left inside a cell, is read as part of the enclosing cell).
_SPACED = _BOUNDARY | {"br", "table", "caption", "thead", "tbody", "tfoot", "tr", "td", "th"}
_HEADING = re.compile(r"^h([1-6])$")
# "<![" that opens no CDATA section: browsers read a bogus comment up to the next ">" (or the end), where the
# html.parser of the Pythons we support may give up on the whole page instead.
_MARKED_SECTION = re.compile(r"<!\[(?!CDATA\[)([^>]*)(?:>|$)")
_SPACES = re.compile(r"\s+")


def _is_text(node: PageElement) -> bool:
    """Whether ``node`` is visible text: a plain string or CDATA, not a comment, doctype or declaration."""
    return isinstance(node, NavigableString) and (not isinstance(node, PreformattedString) or isinstance(node, CData))


def inline_text(tag: Tag) -> str:
    """Return the visible text of ``tag`` on one line, with a space wherever a block or line break separates words."""
    pieces: list[str] = []
    for node in tag.descendants:
        if isinstance(node, Tag):
            if node.name in _SPACED:
                pieces.append(" ")
        elif _is_text(node) and not (node.parent is not None and node.parent.name in _DROP):
            pieces.append(str(node))
    return " ".join("".join(pieces).split())


def _own_parts(table: Tag) -> Iterator[Tag]:
    """The captions and rows of ``table`` in order, but nothing inside one of them or inside a nested table.

    What is inside is already part of that caption's or cell's text: a nested table, or a row html.parser left
    inside an open cell or caption (``</td></tr>`` are optional in HTML). Reading it again repeated the text, and
    finding rows by their ancestors was quadratic in how deep rows nest (30 KB took seconds, more the whole budget).
    """
    stack: list[PageElement] = list(reversed(table.contents))
    while stack:
        node = stack.pop()
        if isinstance(node, Tag) and node.name in ("tr", "caption"):
            yield node
        elif isinstance(node, Tag) and node.name != "table":
            stack.extend(reversed(node.contents))


def _table_text(table: Tag) -> str:
    rows: list[str] = []
    for part in _own_parts(table):
        if part.name == "caption":
            caption = inline_text(part)
            if caption:
                rows.append(caption)
            continue
        cells = [inline_text(cell) for cell in part.find_all(["td", "th"], recursive=False) if isinstance(cell, Tag)]
        while cells and not cells[-1]:
            cells.pop()  # trailing empty cells carry no content
        if cells:
            rows.append(" | ".join(cells))
    return "\n".join(rows)


@dataclass
class HtmlContent:
    """What one HTML document holds: its <title>, its first heading, first H1 and blocks in reading order."""

    title: str | None = None
    first_heading: str | None = None
    first_h1: str | None = None
    blocks: list[Block] = field(default_factory=list)


class _Collector:
    """Walks the tree in document order, gathering loose text until a block boundary flushes it."""

    def __init__(self, budget: ParseBudget) -> None:
        self._budget = budget
        self._chars = 0
        self._open: list[tuple[int, str]] = []
        self._pieces: list[str] = []
        self.content = HtmlContent()

    def _path(self) -> tuple[str, ...]:
        return tuple(text for _, text in self._open)

    def _add(self, text: str, kind: BlockKind) -> None:
        self._chars += len(text)
        check_chars(self._chars, self._budget)
        self.content.blocks.append(Block(text=text, heading_path=self._path(), kind=kind))

    def flush(self) -> None:
        # Source whitespace was already collapsed to single spaces; the only newlines left are <br>s.
        lines = (" ".join(line.split()) for line in "".join(self._pieces).split("\n"))
        text = "\n".join(line for line in lines if line)
        self._pieces.clear()
        if text:
            self._add(text, "text")

    def _heading(self, level: int, text: str) -> None:
        while self._open and self._open[-1][0] >= level:
            self._open.pop()
        if text:
            self._open.append((level, text))
            self.content.first_heading = self.content.first_heading or text
            if level == 1:
                self.content.first_h1 = self.content.first_h1 or text

    def _element(self, tag: Tag) -> Iterator[PageElement] | None:
        """Handle ``tag``; return its children when the walk should descend into them."""
        name = tag.name
        heading = _HEADING.match(name)
        if name in _DROP:
            return None
        if name == "br":
            self._pieces.append("\n")
        elif heading:
            self.flush()
            self._heading(int(heading.group(1)), clip_title(inline_text(tag)))
        elif name == "pre":
            self.flush()
            # Browsers drop one newline straight after <pre>; the rest of the whitespace is the content.
            code = tag.get_text().removeprefix("\n").rstrip()
            if code.strip():
                self._add(code, "code")
        elif name == "table":
            self.flush()
            table = _table_text(tag)
            if table:
                self._add(table, "table")
        else:
            return iter(tag.children)
        return None

    def walk(self, root: Tag) -> None:
        # An explicit stack rather than recursion: real pages nest deeply enough to hit Python's recursion limit.
        stack: list[tuple[Iterator[PageElement], bool]] = [(iter(root.children), False)]
        while stack:
            children, boundary = stack[-1]
            node = next(children, None)
            if node is None:
                stack.pop()
                if boundary:
                    self.flush()
            elif isinstance(node, Tag):
                inner = self._element(node)
                if inner is not None:
                    is_boundary = node.name in _BOUNDARY
                    if is_boundary:
                        self.flush()
                    stack.append((inner, is_boundary))
            elif _is_text(node):
                self._pieces.append(_SPACES.sub(" ", str(node)))
        self.flush()


def _hidden_reason(tag: Tag, page_background: str) -> str | None:
    props = declarations(str(tag.get("style") or ""))
    text_colour = props.get("color") or (str(tag.get("color") or "") if tag.name == "font" else "")
    background = ""
    if text_colour:  # the nearest background declared on the element or above it
        for node in (tag, *tag.parents):
            background = background_of(declarations(str(node.get("style") or "")), str(node.get("bgcolor") or ""))
            if background:
                break
    return hidden_by(props, hidden_attr=tag.has_attr("hidden"), text_colour=text_colour,
                     background=background or page_background)


def _take_hidden(soup: BeautifulSoup, page_background: str) -> list[tuple[str, str]]:
    """Remove the elements a reader cannot see from ``soup``; (why, their text) for each, outermost first."""
    styled = soup.find_all(lambda t: t.has_attr("style") or t.has_attr("hidden") or (t.name == "font"
                                                                                      and t.has_attr("color")))
    taken: list[tuple[str, str]] = []
    for tag in styled:
        if tag.decomposed:
            continue  # inside an element already taken
        why = _hidden_reason(tag, page_background)
        if why:
            taken.append((why, " ".join(tag.get_text(" ").split())))
            tag.decompose()
    return taken


def _soup(markup: bytes | str) -> BeautifulSoup:
    with warnings.catch_warnings():
        # bs4 warns about markup that looks like a file name or like XML; for a file we were asked to read as
        # HTML neither is actionable, and under warnings-as-errors it would turn a fine document into a failure.
        warnings.simplefilter("ignore", MarkupResemblesLocatorWarning)
        warnings.simplefilter("ignore", XMLParsedAsHTMLWarning)
        try:
            return BeautifulSoup(markup, "html.parser")
        except ParserRejectedMarkup:
            # A page (or a tool result the injection guard reads) must not be lost, or crash the guard, over a
            # stray "<![": read it as a browser does and parse again.
            text = markup if isinstance(markup, str) else UnicodeDammit(markup, is_html=True).unicode_markup or ""
            return BeautifulSoup(_MARKED_SECTION.sub(r"<!--[\1-->", text), "html.parser")


def hidden_text(markup: str, page_background: str = "#ffffff") -> list[tuple[str, str]]:
    """(why, text) for each element of a piece of markup that a reader cannot see (the injection guard's view).

    Unlike indexing, which cannot know a stylesheet's colours and so keeps white text on an undeclared background,
    this assumes a white page: a hint, not a removal.
    """
    return _take_hidden(_soup(markup), page_background)


def html_content(markup: bytes | str, budget: ParseBudget) -> HtmlContent:
    """Extract the blocks of one HTML document; byte input is decoded as its BOM or <meta charset> declares."""
    soup = _soup(markup)
    title_tag = soup.find("title")
    _take_hidden(soup, page_background="")
    collector = _Collector(budget)
    collector.walk(soup)
    if isinstance(title_tag, Tag):
        collector.content.title = clip_title(title_tag.get_text()) or None
    return collector.content


def parse(path: Path, budget: ParseBudget, file_type: str) -> ParsedDocument:
    """Parse an HTML file; the title is <title>, else the first <h1>, else the file name."""
    data = read_bytes(path, budget)
    if looks_binary(data):
        raise ParseError("binary content in a text file")
    content = html_content(data, budget)
    title = content.title or content.first_h1 or path.stem
    return ParsedDocument(title=title, file_type=file_type, blocks=content.blocks)

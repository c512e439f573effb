"""Markdown to the HTML a QTextBrowser shows: tables, lists, highlighted code, citation links; nothing active.

``stylesheet(dark)`` is the document style sheet that gives code blocks and tables a frame and a background that
read well in the light and the dark theme (a QTextDocument understands this small subset of CSS).

Model output is untrusted text: raw HTML in it is shown as text, images become their alt text (nothing remote is ever
fetched), and only a few link kinds survive (``cite:N`` for the answer's sources, http(s) links the user may click;
markdown-it already drops javascript:, vbscript:, file: and data: links).
"""

from __future__ import annotations

import html
import re
from functools import lru_cache
from typing import Any

from markdown_it import MarkdownIt
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import TextLexer, get_lexer_by_name
from pygments.util import ClassNotFound

_CITE = re.compile(r"\[(\d{1,3})\](?![(\[:])")


@lru_cache(maxsize=2)
def _parser(dark: bool) -> MarkdownIt:
    # Inline styles: a QTextBrowser has no stylesheet for pygments' classes. The default colours are unreadable on a
    # dark background, hence one parser per theme.
    formatter = HtmlFormatter(noclasses=True, nowrap=True, style="monokai" if dark else "default")

    def code(source: str, lang: str, _attrs: Any) -> str:
        try:
            lexer = get_lexer_by_name(lang) if lang else TextLexer()
        except ClassNotFound:
            lexer = TextLexer()
        return str(highlight(source, lexer, formatter))

    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False, "highlight": code})
    md.enable(["table", "strikethrough"])

    def image(_renderer: Any, tokens: Any, idx: int, _options: Any, _env: Any) -> str:
        alt = tokens[idx].content or "image"
        return f"[image: {html.escape(alt)}]"

    md.add_render_rule("image", image)
    return md


def link_citations(text: str) -> str:
    """``[2]`` becomes a link to ``cite:2`` so a click on it opens the second source."""
    return _CITE.sub(lambda m: f"[\\[{m.group(1)}\\]](cite:{m.group(1)})", text)


def render(text: str, *, dark: bool = False) -> str:
    """HTML for ``text`` (Markdown), with citation markers linked; ``dark`` picks code colours for a dark theme."""
    return str(_parser(dark).render(link_citations(text)))


# (light, dark) colours of code and table chrome; text keeps the palette's colour (checked in tests/ui for contrast).
_CHROME = {
    "code_bg": ("#f1f1f4", "#26272b"),
    "border": ("#c8c8d0", "#4a4b52"),
    "header_bg": ("#e7e7ec", "#2f3035"),
}


def chrome(dark: bool) -> dict[str, str]:
    """The colours ``stylesheet`` uses, by name (code_bg, border, header_bg)."""
    return {name: pair[1 if dark else 0] for name, pair in _CHROME.items()}


def stylesheet(dark: bool = False) -> str:
    """The answer view's document style sheet: framed tables with padded cells, code blocks on their own background."""
    c = chrome(dark)
    return (f"table {{ border-collapse: collapse; border: 1px solid {c['border']}; margin-top: 4px; "
            f"margin-bottom: 4px; }}"
            f"th {{ background-color: {c['header_bg']}; border: 1px solid {c['border']}; padding: 3px 6px; "
            f"font-weight: bold; }}"
            f"td {{ border: 1px solid {c['border']}; padding: 3px 6px; }}"
            f"pre {{ background-color: {c['code_bg']}; font-family: monospace; padding: 6px; }}"
            f"code {{ background-color: {c['code_bg']}; font-family: monospace; }}")

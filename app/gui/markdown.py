"""Markdown to the HTML a QTextBrowser shows: tables, lists, highlighted code, citation links; nothing active.

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

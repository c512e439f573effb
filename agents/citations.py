"""Citations: where a claim comes from (path, page or line range, quoted span), and the check that the quote is real."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any

from tools.index.search import SearchHit

_SPACE = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class Citation:
    path: str
    quote: str
    page: int | None = None
    line_start: int | None = None
    line_end: int | None = None
    heading: str | None = None
    chunk_hash: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def where(self) -> str:
        """``path p.3`` or ``path:12-14``: the form shown next to an answer."""
        place = self.path
        if self.page is not None:
            place += f" p.{self.page}"
        if self.line_start is not None:
            place += f":{self.line_start}"
            if self.line_end is not None and self.line_end != self.line_start:
                place += f"-{self.line_end}"
        return place


def _normal(text: str) -> str:
    return _SPACE.sub(" ", text).strip().lower()


def quote_occurs(quote: str, source: str) -> bool:
    """Whether ``quote`` appears in ``source``, ignoring case and whitespace differences (line wraps, indents)."""
    needle = _normal(quote)
    return bool(needle) and needle in _normal(source)


def cite(hit: SearchHit, start: int, end: int) -> Citation:
    """A citation of ``hit.text[start:end]``, with the line range narrowed to the quoted span where lines are known."""
    quote = hit.text[start:end].strip()
    line_start, line_end = hit.line_start, hit.line_end
    if line_start is not None:
        first = line_start + hit.text.count("\n", 0, start)
        last = first + quote.count("\n")
        line_start, line_end = first, min(last, line_end) if line_end is not None else last
    return Citation(hit.path, quote, hit.page, line_start, line_end, hit.heading, hit.chunk_hash)


def verify(citations: list[Citation], sources: dict[str, str]) -> list[Citation]:
    """The citations whose quote does NOT occur in their chunk (``sources`` maps chunk hash to chunk text)."""
    return [c for c in citations if not quote_occurs(c.quote, sources.get(c.chunk_hash or "", ""))]

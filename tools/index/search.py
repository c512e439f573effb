"""Searches the knowledge index: hybrid (BM25 + vectors, reciprocal rank fusion), vector or full-text.

Exact terms must rank: a query that quotes a phrase or names an identifier (``ERR_4012``, ``parse_file``,
``HTTP 503``) promotes the chunks that contain it verbatim ahead of chunks that only resemble it.
"""

from __future__ import annotations

import os
import re
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from tools.errors import ConfigError
from tools.index.knowledge import KnowledgeIndex
from tools.index.store import SearchMode, in_list, sql_quote

_WORD = re.compile(r"\w+", re.UNICODE)
_PHRASE = re.compile(r'"([^"]+)"')
# Tokens a person types to find one exact thing: identifiers with _ . - :: or digits, or CamelCase.
_EXACT = re.compile(r"\b(?=\w*[_\d])[\w.:-]*\w\b|\b[a-z]+[A-Z]\w*\b|\b[A-Z][a-z]+[A-Z]\w*\b")
_STOP = frozenset(
    "a an and are as at be by for from has have how i in is it of on or that the this to was what when where "
    "which who why will with do does did can you your my we our".split()
)


@dataclass(frozen=True, slots=True)
class SearchFilters:
    """Which chunks a search may return; every field given narrows it (a conversation's scope is one of these).

    ``folders`` and ``paths`` together are one choice: a chunk of a file under any of the folders, or of one of the
    files. ``modified_after`` is inclusive, ``modified_before`` exclusive.
    """

    roots: tuple[str, ...] = ()
    path_glob: str | None = None
    file_types: tuple[str, ...] = ()
    modified_after: datetime | None = None
    modified_before: datetime | None = None
    folders: tuple[str, ...] = ()
    paths: tuple[str, ...] = ()

    def where(self) -> str | None:
        clauses = []
        if self.roots:
            clauses.append(in_list("root", self.roots))
        if self.folders or self.paths:
            places = [f"path LIKE {sql_quote(_folder_like(f))} ESCAPE '\\'" for f in self.folders]
            if self.paths:
                places.append(in_list("path", self.paths))
            clauses.append("(" + " OR ".join(places) + ")")
        if self.path_glob:
            clauses.append(f"path LIKE {sql_quote(_glob_to_like(self.path_glob))} ESCAPE '\\'")
        if self.file_types:
            clauses.append(in_list("file_type", self.file_types))
        if self.modified_after:
            clauses.append(f"mtime >= {self.modified_after.timestamp()}")
        if self.modified_before:
            clauses.append(f"mtime < {self.modified_before.timestamp()}")
        return " AND ".join(clauses) or None


@dataclass(frozen=True, slots=True)
class SearchHit:
    path: str
    title: str | None
    heading: str | None
    page: int | None
    line_start: int | None
    line_end: int | None
    char_start: int | None
    char_end: int | None
    file_type: str | None
    snippet: str
    text: str
    score: float
    chunk_hash: str
    exact_match: bool

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _like_literal(text: str) -> str:
    """``text`` as a LIKE pattern that matches only itself: its percent, underscore and backslash escaped."""
    return "".join("\\" + ch if ch in "%_\\" else ch for ch in text)


def _folder_like(folder: str) -> str:
    """The LIKE pattern of every path under ``folder`` (any depth), the folder's own name taken literally."""
    return _like_literal(folder.rstrip(os.sep + (os.altsep or "")) + os.sep) + "%"


def _glob_to_like(glob: str) -> str:
    out = []
    for ch in glob:
        if ch in "%_\\":
            out.append("\\" + ch)
        elif ch == "*":
            out.append("%")
        elif ch == "?":
            out.append("_")
        else:
            out.append(ch)
    like = "".join(out)
    if "/" in glob:
        return like if glob.startswith(("/", "*")) else "%/" + like
    # A glob without a folder part matches the file name anywhere, as people expect from "*.pdf".
    return like if glob.startswith("*") else "%/" + like


def exact_terms(query: str) -> list[str]:
    """Quoted phrases and identifier-like tokens that a result should contain verbatim."""
    phrases = [p.strip() for p in _PHRASE.findall(query) if p.strip()]
    rest = _PHRASE.sub(" ", query)
    return phrases + [m.group(0) for m in _EXACT.finditer(rest)]


def search(
    index: KnowledgeIndex,
    query: str,
    *,
    k: int = 10,
    mode: SearchMode = "hybrid",
    filters: SearchFilters | None = None,
) -> list[SearchHit]:
    """The ``k`` best chunks for ``query``."""
    query = query.strip()
    if not query:
        raise ConfigError("the search query is empty")
    if k < 1:
        raise ConfigError("k must be at least 1")
    if mode not in ("hybrid", "vector", "fts"):
        raise ConfigError(f"unknown search mode {mode!r}: use hybrid, vector or fts")
    exact = exact_terms(query)
    # The FTS parser treats quotes and punctuation as syntax; give it plain words.
    text = " ".join(_WORD.findall(query)) or query
    where = (filters or SearchFilters()).where()
    fetch = k * 4 if exact else k
    rows = index.search_rows(query, text=text, mode=mode, where=where, limit=fetch)
    terms = [w.lower() for w in _WORD.findall(query) if w.lower() not in _STOP]
    hits = [_hit(row, terms, exact) for row in rows]
    if exact:
        # Stable sort: among equals, the fused ranking stands.
        hits.sort(key=lambda h: not h.exact_match)
    return hits[:k]


def _hit(row: dict[str, Any], terms: list[str], exact: list[str]) -> SearchHit:
    text = row["text"] or ""
    lowered = text.lower()
    return SearchHit(
        path=row["path"],
        title=row.get("title"),
        heading=row.get("heading") or None,
        page=row.get("page"),
        line_start=row.get("line_start"),
        line_end=row.get("line_end"),
        char_start=row.get("char_start"),
        char_end=row.get("char_end"),
        file_type=row.get("file_type"),
        snippet=snippet(text, terms + [e.lower() for e in exact]),
        text=text,
        score=float(row["score"]),
        chunk_hash=row["chunk_hash"],
        exact_match=bool(exact) and all(e.lower() in lowered for e in exact),
    )


def snippet(text: str, terms: list[str], width: int = 240) -> str:
    """The ``width``-character window of ``text`` with the most query terms, each marked **like this**."""
    flat = " ".join(text.split())
    if not flat:
        return ""
    lowered = flat.lower()
    positions = sorted(
        (m.start(), m.end()) for t in set(terms) if t for m in re.finditer(re.escape(t), lowered)
    )
    best_start = 0
    if positions:
        best_count = -1
        for start, _ in positions:
            count = sum(1 for s, e in positions if start <= s and e <= start + width)
            if count > best_count:
                best_start, best_count = max(0, start - 40), count
    window_end = min(len(flat), best_start + width)
    piece = flat[best_start:window_end]
    marked = piece
    for term in sorted({t for t in terms if t}, key=len, reverse=True):
        marked = re.sub(f"(?<!\\*)({re.escape(term)})(?!\\*)", r"**\1**", marked, flags=re.IGNORECASE)
    prefix = "…" if best_start > 0 else ""
    suffix = "…" if window_end < len(flat) else ""
    return f"{prefix}{marked}{suffix}"

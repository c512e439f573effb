"""Turns a parsed document into token-bounded chunks that keep their place in the source."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from itertools import groupby

from tools.index.document import Block, ParsedDocument

# Bump when chunk boundaries or chunk text change: a new version builds a new index generation.
CHUNKER_VERSION = "1"

TokenCounter = Callable[[Sequence[str]], list[int]]

_SENTENCE_END = re.compile(r"(?<=[.!?;:])\s+|\n+")


@dataclass(frozen=True, slots=True)
class Chunk:
    text: str
    context: str  # title and heading path, prepended for embedding and full-text search
    heading: str
    page: int | None
    line_start: int | None
    line_end: int | None
    char_start: int | None
    char_end: int | None
    hash: str

    @property
    def embed_text(self) -> str:
        return f"{self.context}\n{self.text}" if self.context else self.text


@dataclass(frozen=True, slots=True)
class _Piece:
    text: str
    tokens: int
    line_start: int | None
    line_end: int | None
    char_start: int | None
    char_end: int | None
    block: int  # index of the source block: pieces of one block are rejoined with ``glue``, not a blank line
    glue: str = " "


def chunk_document(
    doc: ParsedDocument, count_tokens: TokenCounter, *, max_tokens: int = 256, overlap_tokens: int = 32
) -> list[Chunk]:
    """Chunks of at most ``max_tokens`` tokens (context included), never crossing a heading or a page.

    Consecutive blocks of one section are packed together; a block too long on its own is split at sentence
    (or, for code, line) boundaries, and consecutive chunks of one section share up to ``overlap_tokens`` of
    trailing text so a sentence cut at a boundary is still found whole in one of them.
    """
    chunks: list[Chunk] = []
    blocks = [b for b in doc.blocks if b.text.strip()]
    for (heading_path, page), group in groupby(blocks, key=lambda b: (b.heading_path, b.page)):
        section = list(group)
        heading = " > ".join(heading_path)
        context = _context(doc.title, heading_path)
        budget = max(32, max_tokens - (count_tokens([context])[0] if context else 0) - 2)
        pieces = _pieces(section, count_tokens, budget)
        for text_pieces in _pack(pieces, budget, overlap_tokens):
            text = text_pieces[0].text
            for prev, piece in zip(text_pieces, text_pieces[1:], strict=False):
                text += (piece.glue if piece.block == prev.block else "\n\n") + piece.text
            chunks.append(
                Chunk(
                    text=text,
                    context=context,
                    heading=heading,
                    page=page,
                    line_start=_first(p.line_start for p in text_pieces),
                    line_end=_last(p.line_end for p in text_pieces),
                    char_start=_first(p.char_start for p in text_pieces),
                    char_end=_last(p.char_end for p in text_pieces),
                    hash=hashlib.sha256(f"{context}\n{text}".encode()).hexdigest()[:32],
                )
            )
    return chunks


def _context(title: str, heading_path: tuple[str, ...]) -> str:
    parts = [title] if title else []
    parts += [h for h in heading_path if h != title]
    return " > ".join(parts)


def _pieces(blocks: list[Block], count_tokens: TokenCounter, budget: int) -> list[_Piece]:
    """Blocks as pieces of at most ``budget`` tokens each (long blocks split at sentence/line ends)."""
    counts = count_tokens([b.text for b in blocks])
    pieces: list[_Piece] = []
    for number, (block, tokens) in enumerate(zip(blocks, counts, strict=True)):
        if tokens <= budget:
            pieces.append(_Piece(block.text, tokens, block.line_start, block.line_end, block.char_start,
                                 block.char_end, number))
            continue
        pieces.extend(_split_block(block, number, count_tokens, budget))
    return pieces


def _split_block(block: Block, number: int, count_tokens: TokenCounter, budget: int) -> list[_Piece]:
    text = block.text
    if block.kind == "code":
        spans = [(m.start(), m.end()) for m in re.finditer(r"[^\n]*\n?", text) if m.end() > m.start()]
    else:
        spans, start = [], 0
        for m in _SENTENCE_END.finditer(text):
            spans.append((start, m.start()))
            start = m.end()
        spans.append((start, len(text)))
        spans = [(s, e) for s, e in spans if text[s:e].strip()]
    counts = count_tokens([text[s:e] for s, e in spans])
    # A single sentence longer than the budget (a table row, minified code): cut it by characters.
    fine: list[tuple[int, int, int]] = []
    for (s, e), n in zip(spans, counts, strict=True):
        if n <= budget:
            fine.append((s, e, n))
            continue
        step = max(1, (e - s) * budget // (n + 1))
        for cut in range(s, e, step):
            fine.append((cut, min(e, cut + step), budget))
    out: list[_Piece] = []
    for s, e, n in fine:
        out.append(
            _Piece(
                text[s:e].strip("\n"),
                n,
                None if block.line_start is None else block.line_start + text.count("\n", 0, s),
                None if block.line_start is None else block.line_start + text.count("\n", 0, max(s, e - 1)),
                None if block.char_start is None else block.char_start + s,
                None if block.char_start is None else block.char_start + e,
                number,
                "\n" if block.kind == "code" else " ",
            )
        )
    return out


def _pack(pieces: list[_Piece], budget: int, overlap: int) -> list[list[_Piece]]:
    groups: list[list[_Piece]] = []
    current: list[_Piece] = []
    used = 0
    for piece in pieces:
        if current and used + piece.tokens > budget:
            groups.append(current)
            # Carry trailing pieces that fit in the overlap into the next chunk.
            carried: list[_Piece] = []
            carried_tokens = 0
            for prev in reversed(current):
                if carried_tokens + prev.tokens > overlap or carried_tokens + prev.tokens + piece.tokens > budget:
                    break
                carried.insert(0, prev)
                carried_tokens += prev.tokens
            current, used = carried, carried_tokens
        current.append(piece)
        used += piece.tokens
    if current:
        groups.append(current)
    return groups


def _first(values: Iterable[int | None]) -> int | None:
    return next((v for v in values if v is not None), None)


def _last(values: Iterable[int | None]) -> int | None:
    found = [v for v in values if v is not None]
    return found[-1] if found else None

"""Chunking keeps structure and bounds, with the real tokenizer counting tokens."""

from __future__ import annotations

import re

import pytest

from tools.index.chunker import chunk_document
from tools.index.document import Block, ParsedDocument
from tools.index.embedder import load_tokenizer


@pytest.fixture(scope="module")
def count():
    tokenizer = load_tokenizer()
    return lambda texts: [len(e.ids) for e in tokenizer.encode_batch(list(texts), add_special_tokens=False)]


def _doc(blocks, title="Doc"):
    return ParsedDocument(title=title, file_type="markdown", blocks=blocks)


def test_chunks_never_cross_headings_or_pages(count):
    blocks = [
        Block("intro text", ("Doc", "Intro"), line_start=3, line_end=3),
        Block("setup text", ("Doc", "Setup"), line_start=7, line_end=7),
        Block("page one", page=1),
        Block("page two", page=2),
    ]
    chunks = chunk_document(_doc(blocks), count)
    assert [(c.heading, c.page, c.text) for c in chunks] == [
        ("Doc > Intro", None, "intro text"),
        ("Doc > Setup", None, "setup text"),
        ("", 1, "page one"),
        ("", 2, "page two"),
    ]
    assert chunks[0].context == "Doc > Intro"
    assert chunks[0].embed_text == "Doc > Intro\nintro text"


def test_small_paragraphs_pack_and_keep_the_line_range(count):
    blocks = [Block(f"Paragraph {i} is short.", ("Doc",), line_start=2 * i + 1, line_end=2 * i + 1,
                    char_start=100 * i, char_end=100 * i + 22) for i in range(5)]
    chunks = chunk_document(_doc(blocks), count)
    assert len(chunks) == 1
    assert (chunks[0].line_start, chunks[0].line_end) == (1, 9)
    assert (chunks[0].char_start, chunks[0].char_end) == (0, 422)


def test_long_text_is_split_within_the_token_budget_with_overlap(count):
    sentences = [f"Sentence number {i} describes the aerodynamic property {i} of a wing." for i in range(120)]
    text = " ".join(sentences)
    block = Block(text, ("Doc",), line_start=1, line_end=1, char_start=0, char_end=len(text))
    chunks = chunk_document(_doc([block]), count, max_tokens=128, overlap_tokens=32)
    assert len(chunks) > 5
    for chunk in chunks:
        assert count([chunk.embed_text])[0] + 2 <= 128  # [CLS] and [SEP] fit too
        assert text[chunk.char_start:chunk.char_end].strip() in text
    # Consecutive chunks share their boundary sentence.
    for first, second in zip(chunks, chunks[1:], strict=False):
        last_sentence = re.split(r"(?<=\.)\s+", first.text)[-1]
        assert last_sentence in second.text
        assert second.char_start < first.char_end
    covered = " ".join(c.text for c in chunks)
    assert all(s in covered for s in sentences)


def test_code_blocks_split_on_lines_with_exact_line_numbers(count):
    lines = [f"    value_{i} = compute_something(value_{i - 1}, factor={i})" for i in range(1, 80)]
    code = "\n".join(lines)
    block = Block(code, ("def big",), line_start=10, line_end=10 + len(lines) - 1, char_start=0,
                  char_end=len(code), kind="code")
    chunks = chunk_document(_doc([block], title="big.py"), count, max_tokens=128, overlap_tokens=0)
    assert len(chunks) > 2
    for chunk in chunks:
        first_line = chunk.text.splitlines()[0]
        assert lines[chunk.line_start - 10] == first_line
        assert lines[chunk.line_end - 10] == chunk.text.splitlines()[-1]


def test_hash_depends_on_text_and_context(count):
    a = chunk_document(_doc([Block("same words", ("Doc", "A"))]), count)[0]
    b = chunk_document(_doc([Block("same words", ("Doc", "B"))]), count)[0]
    c = chunk_document(_doc([Block("same words", ("Doc", "A"))]), count)[0]
    assert a.hash != b.hash and a.hash == c.hash

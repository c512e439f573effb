"""Reading one indexed file whole: every chunk in reading order from a real index, and the bound on how many."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.unit.parsers.pdf_factory import make_pdf
from tools.errors import ToolInputError
from tools.index.documents import chunks_of, indexed_paths

SECTIONS = [f"## Section {n}\n\n" + " ".join(f"word{n}x{i}" for i in range(60)) + f" end of section {n}.\n"
            for n in range(1, 9)]


@pytest.fixture
def indexed(tmp_path: Path, make_index, fake_embedder):  # type: ignore[no-untyped-def]
    root = tmp_path / "docs"
    root.mkdir()
    (root / "long.md").write_text("# Long\n\n" + "\n".join(SECTIONS), encoding="utf-8")
    (root / "short.md").write_text("# Short\n\nOne line only.\n", encoding="utf-8")
    make_pdf(root / "paged.pdf", ["Page one talks about apples.", "Page two talks about pears.",
                                  "Page three talks about plums."])
    (root / "broken.pdf").write_bytes(b"%PDF-1.4 not really")
    (root / "it's 100%_odd.md").write_text("# Odd\n\nA name with quotes and wildcards.\n", encoding="utf-8")
    index = make_index(fake_embedder, chunk_tokens=40, overlap_tokens=0)
    index.add_root(root)
    index.sync()
    return index, root.resolve()


def test_every_chunk_of_a_file_comes_back_in_reading_order(indexed) -> None:  # type: ignore[no-untyped-def]
    index, root = indexed
    chunks = chunks_of(index, str(root / "long.md"))
    assert len(chunks) > 4 and {c.path for c in chunks} == {str(root / "long.md")}
    starts = [c.char_start for c in chunks]
    assert starts == sorted(starts)
    order = [n for n in range(1, 9) for c in chunks if f"end of section {n}." in c.text][:8]
    assert order == list(range(1, 9))
    assert all(c.score == 0.0 and c.chunk_hash for c in chunks)


def test_a_pdf_comes_back_page_by_page(indexed) -> None:  # type: ignore[no-untyped-def]
    index, root = indexed
    chunks = chunks_of(index, str(root / "paged.pdf"))
    assert [c.page for c in chunks] == [1, 2, 3]
    assert ["apples" in chunks[0].text, "pears" in chunks[1].text, "plums" in chunks[2].text] == [True] * 3


def test_a_name_with_quotes_and_wildcards_reads_only_that_file(indexed) -> None:  # type: ignore[no-untyped-def]
    index, root = indexed
    chunks = chunks_of(index, str(root / "it's 100%_odd.md"))
    assert len(chunks) == 1 and "wildcards" in chunks[0].text


@pytest.mark.parametrize(("name", "why"), [("missing.md", "not in the index"), ("broken.pdf", "could not be indexed"),
                                           ("", "give the path"), ("a\x00b", "give the path")])
def test_a_file_the_index_does_not_hold_is_a_clear_error(indexed, name: str, why: str) -> None:  # type: ignore[no-untyped-def]
    index, root = indexed
    with pytest.raises(ToolInputError, match=why):
        chunks_of(index, str(root / name) if name else name)


def test_a_file_with_too_many_chunks_is_refused_before_it_is_read(indexed) -> None:  # type: ignore[no-untyped-def]
    index, root = indexed
    count = len(chunks_of(index, str(root / "long.md")))
    with pytest.raises(ToolInputError, match=f"has {count} passages, more than the 3"):
        chunks_of(index, str(root / "long.md"), limit=3)
    assert len(chunks_of(index, str(root / "long.md"), limit=count)) == count


def test_indexed_paths_lists_only_what_was_indexed(indexed) -> None:  # type: ignore[no-untyped-def]
    index, root = indexed
    assert [os.path.basename(p) for p in indexed_paths(index)] == ["it's 100%_odd.md", "long.md", "paged.pdf",
                                                                   "short.md"]

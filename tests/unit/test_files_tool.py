from __future__ import annotations

import os
from pathlib import Path

import pytest

from tools import files
from tools.errors import ToolInputError


@pytest.fixture
def indexed(tmp_path: Path, make_index, fake_embedder):  # type: ignore[no-untyped-def]
    root = tmp_path / "docs"
    root.mkdir()
    (root / "a.md").write_text("# A\n\nline three\nline four\nline five\n", encoding="utf-8")
    (root / "b.md").write_text("# B\n\nnewer file\n", encoding="utf-8")
    os.utime(root / "a.md", (1_000_000, 1_000_000))
    (tmp_path / "secret.txt").write_text("not indexed\n", encoding="utf-8")
    index = make_index(fake_embedder)
    index.add_root(root)
    index.sync()
    return index, root


def test_read_file_returns_the_asked_lines(indexed) -> None:  # type: ignore[no-untyped-def]
    index, root = indexed
    excerpt = files.read_file(index, str(root / "a.md"), line_start=3, line_end=4)
    assert (excerpt.text, excerpt.line_start, excerpt.line_end) == ("line three\nline four", 3, 4)


@pytest.mark.parametrize(("name", "why"), [("secret.txt", "not inside an indexed folder"),
                                          ("docs/../secret.txt", "contains '..'")])
def test_read_file_refuses_paths_outside_the_indexed_roots(indexed, name: str, why: str) -> None:  # type: ignore[no-untyped-def]
    index, root = indexed
    with pytest.raises(ToolInputError, match=why):
        files.read_file(index, str(root.parent / name))


def test_read_file_refuses_a_link_that_leads_outside(indexed) -> None:  # type: ignore[no-untyped-def]
    index, root = indexed
    (root / "link.txt").symlink_to(root.parent / "secret.txt")
    with pytest.raises(ToolInputError, match="not inside an indexed folder"):
        files.read_file(index, str(root / "link.txt"))


def test_list_recent_files_is_newest_first(indexed) -> None:  # type: ignore[no-untyped-def]
    index, root = indexed
    assert [p for p, _ in files.list_recent_files(index)] == [str(root / "b.md"), str(root / "a.md")]


def test_write_note_never_overwrites(tmp_path: Path) -> None:
    first = files.write_note(tmp_path, "Passport fee", "95 euros")
    second = files.write_note(tmp_path, "Passport fee", "still 95 euros")
    assert first != second and first.read_text(encoding="utf-8") == "# Passport fee\n\n95 euros\n"


def test_read_file_counts_lines_as_an_editor_does(indexed) -> None:  # type: ignore[no-untyped-def]
    index, root = indexed
    (root / "crlf.txt").write_bytes(b"one\r\ntwo\rthree\n")
    assert files.read_file(index, str(root / "crlf.txt"), line_start=2).text == "two\nthree"
    with pytest.raises(ToolInputError, match="has 3 lines; line 4 does not exist"):
        files.read_file(index, str(root / "crlf.txt"), line_start=4)
    with pytest.raises(ToolInputError, match="not a range"):
        files.read_file(index, str(root / "crlf.txt"), line_start=3, line_end=2)


def test_read_file_cuts_at_the_cap_and_says_so(indexed) -> None:  # type: ignore[no-untyped-def]
    index, root = indexed
    (root / "wide.txt").write_text("x" * files.MAX_READ_CHARS + "\nnext\n", encoding="utf-8")
    whole_line = files.read_file(index, str(root / "wide.txt"), line_start=1, line_end=1)
    assert len(whole_line.text) == files.MAX_READ_CHARS and not whole_line.truncated
    assert files.read_file(index, str(root / "wide.txt")).truncated


def test_read_file_parses_a_private_copy_of_what_it_opened(indexed) -> None:  # type: ignore[no-untyped-def]
    index, root = indexed
    (root / "page.html").write_text("<html><body><h1>Fee</h1><p>95 euros</p></body></html>", encoding="utf-8")
    excerpt = files.read_file(index, str(root / "page.html"))
    assert "95 euros" in excerpt.text and excerpt.path == str(root / "page.html")

"""The dispatch boundary: which files are indexed, and that only ParseError ever escapes parse_file."""

from __future__ import annotations

import random
import sys
from pathlib import Path

import pytest

from tools.index.document import ParseError
from tools.index.parsers import SUPPORTED, file_type_for, parse_file


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("notes.md", "markdown"),
        ("NOTES.MD", "markdown"),
        ("report.PDF", "pdf"),
        ("store.py", "python"),
        ("app.tsx", "typescript"),
        ("main.rs", "rust"),
        ("data.ndjson", "jsonl"),
        ("page.htm", "html"),
        ("book.epub", "epub"),
        ("letter.docx", "docx"),
        ("letter.odt", "odt"),
        ("README", "text"),
        ("LICENSE", "text"),
        ("Makefile", "text"),
        ("Dockerfile", "text"),
        ("photo.jpg", None),
        ("archive.tar.gz", None),
        ("randomname", None),
        (".bashrc", None),
    ],
)
def test_file_type_for(name: str, expected: str | None) -> None:
    """Extensions map case-insensitively; a few extensionless names are text; everything else is skipped."""
    assert file_type_for(Path("/some/dir") / name) == expected


def test_supported_keys_are_lowercase_extensions() -> None:
    """SUPPORTED is keyed by lowercase dotted extensions, the form file_type_for looks up."""
    assert SUPPORTED
    assert all(key.startswith(".") and key == key.lower() for key in SUPPORTED)
    assert {"text", "markdown", "rst", "python", "html", "pdf", "docx", "odt", "epub", "csv", "json"} <= set(
        SUPPORTED.values()
    )


def test_unsupported_file_raises_parse_error(tmp_path: Path) -> None:
    """Asking for a format we do not index is a ParseError naming the extension."""
    path = tmp_path / "image.png"
    path.write_bytes(b"\x89PNG")
    with pytest.raises(ParseError, match=r"unsupported file type: \.png"):
        parse_file(path)


def test_missing_file_and_directory_raise_parse_error(tmp_path: Path) -> None:
    """OS errors are translated too: the caller never sees FileNotFoundError or IsADirectoryError."""
    with pytest.raises(ParseError, match="file not found"):
        parse_file(tmp_path / "gone.txt")
    folder = tmp_path / "folder.md"
    folder.mkdir()
    with pytest.raises(ParseError, match="directory"):
        parse_file(folder)


@pytest.mark.parametrize(
    "name",
    [
        "empty.txt",
        "empty.md",
        "empty.rst",
        "empty.py",
        "empty.go",
        "empty.csv",
        "empty.json",
        "empty.jsonl",
        "empty.html",
        "README",
    ],
)
def test_empty_text_files_have_no_blocks(tmp_path: Path, name: str) -> None:
    """An empty text-family file is a document without blocks, titled after the file, not an error."""
    path = tmp_path / name
    path.write_bytes(b"")
    document = parse_file(path)
    assert document.blocks == []
    assert document.file_type == file_type_for(path)
    assert document.title in (path.stem, path.name)


@pytest.mark.parametrize("suffix", [".pdf", ".docx", ".odt", ".epub", ".html", ".json", ".csv", ".py", ".md", ".txt"])
def test_random_bytes_only_ever_raise_parse_error(tmp_path: Path, suffix: str) -> None:
    """Garbage in any supported format yields ParseError (or, for lenient formats, a document), nothing else."""
    rng = random.Random(1234)
    for attempt in range(5):
        path = tmp_path / f"garbage{attempt}{suffix}"
        path.write_bytes(bytes(rng.randrange(256) for _ in range(2000)))
        try:
            document = parse_file(path)
        except ParseError as error:
            assert str(error)
        else:
            assert document.file_type == SUPPORTED[suffix]


def test_missing_format_library_is_a_parse_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """If a format's library cannot be imported, files of that format fail with a reason; others still parse."""
    monkeypatch.setitem(sys.modules, "ebooklib", None)
    monkeypatch.delitem(sys.modules, "tools.index.parsers.epub", raising=False)
    book = tmp_path / "book.epub"
    book.write_bytes(b"PK\x03\x04")
    with pytest.raises(ParseError, match=r"^epub support is not installed \(ebooklib missing\)$"):
        parse_file(book)
    note = tmp_path / "note.txt"
    note.write_text("still fine", encoding="utf-8")
    assert parse_file(note).title == "still fine"

"""Which files the index sees: default excludes, globs, size limit, symlink loops."""

from __future__ import annotations

import os

from tools.index.config import IndexOptions
from tools.index.manifest import Root
from tools.index.walker import FileEntry, Skipped, walk


def _touch(path, text="x"):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def _split(items):
    items = list(items)
    files = sorted(os.path.relpath(i.path, i.root) for i in items if isinstance(i, FileEntry))
    skipped = {os.path.relpath(i.path, i.root): i.reason for i in items if isinstance(i, Skipped)}
    return files, skipped


def test_default_excludes_and_unknown_types(tmp_path):
    for rel in ["a.md", "src/b.py", ".git/config.txt", "node_modules/x/index.js", ".venv/lib/c.py",
                "build/out.txt", "__pycache__/m.txt", ".hidden.md", "photo.png", "archive.zip", "data.bin"]:
        _touch(tmp_path / rel)
    files, skipped = _split(walk(Root(str(tmp_path)), IndexOptions()))
    assert files == ["a.md", "src/b.py"]
    assert skipped == {}


def test_include_and_exclude_globs(tmp_path):
    for rel in ["notes/a.md", "notes/b.txt", "drafts/c.md", "d.md"]:
        _touch(tmp_path / rel)
    files, _ = _split(walk(Root(str(tmp_path), include=("*.md",), exclude=("drafts",)), IndexOptions()))
    assert files == ["d.md", "notes/a.md"]
    files, _ = _split(walk(Root(str(tmp_path)), IndexOptions(include=("notes/*",))))
    assert files == ["notes/a.md", "notes/b.txt"]
    files, _ = _split(walk(Root(str(tmp_path)), IndexOptions(use_default_excludes=False, exclude=("*.txt",))))
    assert files == ["d.md", "drafts/c.md", "notes/a.md"]


def test_size_limit_is_reported(tmp_path):
    _touch(tmp_path / "small.txt", "ok")
    _touch(tmp_path / "big.txt", "x" * 5000)
    files, skipped = _split(walk(Root(str(tmp_path)), IndexOptions(max_file_bytes=1000)))
    assert files == ["small.txt"]
    assert "larger than" in skipped["big.txt"]


def test_symlink_loop_is_reported_once_and_walk_terminates(tmp_path):
    _touch(tmp_path / "a" / "doc.md")
    os.symlink(tmp_path / "a", tmp_path / "a" / "loop")
    os.symlink(tmp_path, tmp_path / "a" / "up")
    files, skipped = _split(walk(Root(str(tmp_path)), IndexOptions()))
    assert files == ["a/doc.md"]
    assert set(skipped) == {"a/loop", "a/up"}
    assert all("symlink loop" in reason for reason in skipped.values())


def test_single_file_root_and_start_inside_root(tmp_path):
    doc = _touch(tmp_path / "one.md")
    _touch(tmp_path / "sub" / "two.md")
    _touch(tmp_path / ".git" / "three.md")
    assert [i.path for i in walk(Root(str(doc)), IndexOptions())] == [str(doc)]
    started = [i.path for i in walk(Root(str(tmp_path)), IndexOptions(), start=str(tmp_path / "sub"))]
    assert started == [str(tmp_path / "sub" / "two.md")]
    assert list(walk(Root(str(tmp_path)), IndexOptions(), start=str(tmp_path / ".git" / "three.md"))) == []


def test_missing_root_is_reported(tmp_path):
    items = list(walk(Root(str(tmp_path / "nope")), IndexOptions()))
    assert len(items) == 1 and isinstance(items[0], Skipped) and "cannot read" in items[0].reason

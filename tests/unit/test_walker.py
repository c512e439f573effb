"""Which files the index sees: default excludes, globs, size limit, symlink loops, links out of the roots."""

from __future__ import annotations

import os

from tools.index.config import IndexOptions
from tools.index.manifest import Root
from tools.index.walker import LINK_HIDDEN, LINK_OUTSIDE, FileEntry, Skipped, refusal, walk


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


def test_links_are_followed_only_into_an_indexed_root(tmp_path):
    root, other, outside = tmp_path / "root", tmp_path / "other", tmp_path / "outside"
    _touch(root / "a.md")
    _touch(root / ".hidden" / "h.md")
    _touch(other / "o.md")
    _touch(outside / "x.md")
    os.symlink(root / "a.md", root / "alias.md")
    os.symlink(root / ".hidden" / "h.md", root / "peek.md")
    os.symlink(other / "o.md", root / "o.md")
    os.symlink(outside / "x.md", root / "x.md")
    os.symlink(outside, root / "dir")
    os.symlink(tmp_path / "gone.md", root / "dangling.md")
    items = list(walk(Root(str(root)), IndexOptions()))
    files, skipped = _split(items)
    assert files == ["a.md", "alias.md"]
    assert skipped == {"peek.md": LINK_HIDDEN, "o.md": LINK_OUTSIDE, "x.md": LINK_OUTSIDE, "dir": LINK_OUTSIDE}
    assert all(i.link for i in items if isinstance(i, Skipped))
    both = (Root(str(root)), Root(str(other)))
    files, skipped = _split(walk(Root(str(root)), IndexOptions(), roots=both))
    assert files == ["a.md", "alias.md", "o.md"] and set(skipped) == {"peek.md", "x.md", "dir"}


def test_a_start_path_reached_through_a_link_out_is_skipped(tmp_path):
    root, outside = tmp_path / "root", tmp_path / "outside"
    _touch(outside / "x.md")
    root.mkdir()
    os.symlink(outside, root / "dir")
    started = str(root / "dir" / "x.md")
    assert [(i.path, i.reason) for i in walk(Root(str(root)), IndexOptions(), start=started)] == [
        (started, LINK_OUTSIDE)]


def test_refusal_applies_the_walk_rules_to_one_path(tmp_path):
    root = Root(str(tmp_path), exclude=("secret*",))
    big = _touch(tmp_path / "big.md", "x" * 2000)
    options = IndexOptions(max_file_bytes=1000)
    for rel, why in [("a.md", None), (".config/gh/hosts.yml", "hidden or excluded"), ("secrets.md", "excluded"),
                     ("tool.bin", "type of file"), ("big.md", "larger than")]:
        path = big if rel == "big.md" else _touch(tmp_path / rel)
        verdict = refusal(str(path), [root], options, os.stat(path))
        assert (verdict is None) if why is None else (why in verdict), (rel, verdict)
    assert "not inside" in refusal("/etc/passwd", [root], options, os.stat("/etc/passwd"))

"""Issue 11, finding 2: links out of the indexed roots, what read_file may read and how, and where write_note writes."""

from __future__ import annotations

import os
import tracemalloc
from pathlib import Path

import pytest

from app.cli.index import _print_status
from tools import files, sandbox
from tools.errors import ToolInputError
from tools.index.search import search

OUTSIDE = "link to outside the indexed folders"


@pytest.fixture
def tree(tmp_path: Path) -> dict[str, Path]:
    """Two roots (docs/, other/), an outside/ folder with a secret, and links from docs/ to each of them."""
    docs, other, outside = tmp_path / "docs", tmp_path / "other", tmp_path / "outside"
    for folder in (docs / ".config" / "gh", other, outside / "dir"):
        folder.mkdir(parents=True)
    (docs / "a.md").write_text("# A\n\nline three\nline four\n", encoding="utf-8")
    (docs / ".config" / "gh" / "hosts.yml").write_text("token: gho_hiddenvalue\n", encoding="utf-8")
    (other / "ok.md").write_text("# Ok\n\nkingfisher in the other root\n", encoding="utf-8")
    (outside / "passwd.txt").write_text("root:x:0:0 zebrafish\n", encoding="utf-8")
    (outside / "dir" / "secret.md").write_text("# Secret\n\nnarwhal plans\n", encoding="utf-8")
    (docs / "x.txt").symlink_to(outside / "passwd.txt")
    (docs / "elsewhere").symlink_to(outside / "dir", target_is_directory=True)
    (docs / "shared.md").symlink_to(other / "ok.md")
    (docs / "peek.yml").symlink_to(docs / ".config" / "gh" / "hosts.yml")
    return {"docs": docs, "other": other, "outside": outside}


@pytest.fixture
def index(tree: dict[str, Path], make_index, fake_embedder):  # type: ignore[no-untyped-def]
    made = make_index(fake_embedder)
    made.add_root(tree["docs"])
    made.add_root(tree["other"])
    made.sync()
    return made


def _found(index, word: str) -> set[str]:  # type: ignore[no-untyped-def]
    return {os.path.basename(hit.path) for hit in search(index, word, k=10, mode="fts")}


# -- the index follows a link only into an indexed root ----------------------------------------------------------


def test_links_out_of_the_roots_are_not_indexed_but_listed(index, tree) -> None:  # type: ignore[no-untyped-def]
    assert _found(index, "zebrafish") == set() and _found(index, "narwhal") == set()
    assert _found(index, "gho_hiddenvalue") == set()
    assert _found(index, "kingfisher") == {"ok.md", "shared.md"}  # a link into another indexed root is followed
    status = index.status()
    skipped = {os.path.basename(s["path"]): s["reason"] for s in status["skipped_links"]}
    assert skipped == {"x.txt": OUTSIDE, "elsewhere": OUTSIDE, "peek.yml": "link to a hidden or excluded file"}
    assert status["links_skipped"] == 3 and status["failed"] == 0


def test_a_sync_of_given_paths_does_not_follow_links_out(tree, make_index, fake_embedder) -> None:  # type: ignore[no-untyped-def]
    index = make_index(fake_embedder)
    index.add_root(tree["docs"])
    index.sync(paths=[str(tree["docs"] / "x.txt"), str(tree["docs"] / "elsewhere" / "secret.md"),
                      str(tree["docs"] / "elsewhere")])
    assert _found(index, "zebrafish") == set() and _found(index, "narwhal") == set()


def test_a_link_already_indexed_is_dropped_by_the_next_sync(tree, make_index, fake_embedder) -> None:  # type: ignore[no-untyped-def]
    index = make_index(fake_embedder)
    index.add_root(tree["docs"])
    (tree["docs"] / "later.txt").write_text("zebrafish, but harmless for now\n", encoding="utf-8")
    index.sync()
    assert _found(index, "zebrafish") == {"later.txt"}
    (tree["docs"] / "later.txt").unlink()
    (tree["docs"] / "later.txt").symlink_to(tree["outside"] / "passwd.txt")
    index.sync(paths=[str(tree["docs"] / "later.txt")])  # what the watcher does when the link appears
    assert _found(index, "zebrafish") == set()


def test_link_loops_end(tmp_path: Path, make_index, fake_embedder) -> None:  # type: ignore[no-untyped-def]
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "self.md").symlink_to(docs / "self.md")
    (docs / "ping.md").symlink_to(docs / "pong.md")
    (docs / "pong.md").symlink_to(docs / "ping.md")
    (docs / "up").symlink_to(docs, target_is_directory=True)
    (docs / "real.md").write_text("# Real\n\nplatypus\n", encoding="utf-8")
    index = make_index(fake_embedder)
    index.add_root(docs)
    index.sync()
    assert _found(index, "platypus") == {"real.md"}


def test_index_status_prints_the_skipped_links(index, tree, capsys) -> None:  # type: ignore[no-untyped-def]
    _print_status(index.status_report(), as_json=False)
    printed = capsys.readouterr().out
    assert "3 links skipped" in printed
    assert f"{tree['docs'] / 'x.txt'}: {OUTSIDE}" in printed.replace("\n", "")


# -- read_file reads only what the index would index ------------------------------------------------------------


@pytest.mark.parametrize("name", [".config/gh/hosts.yml", "secrets.log", "secrets.txt", "peek.yml", "x.txt"])
def test_read_file_refuses_what_the_index_would_not_index(tree, make_index, fake_embedder, name) -> None:  # type: ignore[no-untyped-def]
    index = make_index(fake_embedder)
    index.add_root(tree["docs"], exclude=("secrets*",))
    (tree["docs"] / "secrets.log").write_text("password=hunter2\n", encoding="utf-8")
    (tree["docs"] / "secrets.txt").write_text("password=hunter2\n", encoding="utf-8")
    with pytest.raises(ToolInputError):
        files.read_file(index, str(tree["docs"] / name))
    assert files.read_file(index, str(tree["docs"] / "a.md"), line_start=3, line_end=3).text == "line three"


def test_read_file_streams_a_big_file(tree, make_index, fake_embedder) -> None:  # type: ignore[no-untyped-def]
    """Two lines from the head of a 64 MB file, or the head of one 64 MB line, take a bounded amount of memory."""
    index = make_index(fake_embedder, max_file_bytes=1 << 30)
    index.add_root(tree["docs"])
    big, one_line = tree["docs"] / "big.txt", tree["docs"] / "one-line.txt"
    with big.open("wb") as handle:
        handle.write(b"first\nsecond\nthird\n")
        handle.truncate(64 << 20)  # sparse: 64 MB on paper, nothing on disk
    with one_line.open("wb") as handle:
        handle.write(b"x")
        handle.truncate(64 << 20)
    tracemalloc.start()
    try:
        head = files.read_file(index, str(big), line_start=1, line_end=2)
        long = files.read_file(index, str(one_line), line_start=1, line_end=1)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert head.text == "first\nsecond" and (head.line_start, head.line_end) == (1, 2) and not head.truncated
    assert long.truncated and len(long.text) == files.MAX_READ_CHARS
    assert peak < 4 << 20, f"read_file held {peak / (1 << 20):.1f} MB"


# -- the file is checked after it is opened, not before ---------------------------------------------------------


def _swap_after_the_check(monkeypatch: pytest.MonkeyPatch, swap) -> None:  # type: ignore[no-untyped-def]
    """Run ``swap`` right after the sandbox first approves a path: the race a hostile process would try to win."""
    real_inside, done = sandbox.inside, []

    def inside_then_swap(path: str, roots) -> bool:  # type: ignore[no-untyped-def]
        verdict = real_inside(path, roots)
        if not done:
            done.append(True)
            swap()
        return verdict

    monkeypatch.setattr(sandbox, "inside", inside_then_swap)


def test_a_file_swapped_for_a_link_after_the_check_is_refused(index, tree, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    target = tree["docs"] / "a.md"

    def swap() -> None:
        target.unlink()
        target.symlink_to(tree["outside"] / "passwd.txt")

    _swap_after_the_check(monkeypatch, swap)
    with pytest.raises(ToolInputError, match="link"):
        files.read_file(index, str(target))


def test_a_folder_swapped_for_a_link_after_the_check_is_refused(index, tree, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    sub = tree["docs"] / "sub"
    sub.mkdir()
    (sub / "passwd.txt").write_text("harmless\n", encoding="utf-8")

    def swap() -> None:
        sub.rename(tree["docs"].parent / "moved")
        sub.symlink_to(tree["outside"], target_is_directory=True)

    _swap_after_the_check(monkeypatch, swap)
    with pytest.raises(ToolInputError, match="not inside an indexed folder"):
        files.read_file(index, str(sub / "passwd.txt"))


def test_read_file_refuses_a_fifo_without_blocking(index, tree) -> None:  # type: ignore[no-untyped-def]
    os.mkfifo(tree["docs"] / "pipe.txt")
    with pytest.raises(ToolInputError, match="not a regular file"):
        files.read_file(index, str(tree["docs"] / "pipe.txt"))


# -- write_note writes into a real folder only ------------------------------------------------------------------


@pytest.mark.parametrize("dangling", [False, True])
def test_write_note_refuses_a_notes_folder_that_is_a_link(tmp_path: Path, dangling: bool) -> None:
    elsewhere, notes = tmp_path / "elsewhere", tmp_path / "notes"
    if not dangling:
        elsewhere.mkdir()
    notes.symlink_to(elsewhere, target_is_directory=True)
    with pytest.raises(ToolInputError, match="is a link"):
        files.write_note(notes, "Plan", "text")
    assert not elsewhere.exists() or list(elsewhere.iterdir()) == []


def test_write_note_writes_into_the_folder_it_checked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The folder is opened once; a swap to a link after that does not redirect the note."""
    notes, elsewhere = tmp_path / "notes", tmp_path / "elsewhere"
    elsewhere.mkdir()
    real_open, opened = os.open, []

    def open_then_swap(path, flags, mode=0o777, *, dir_fd=None):  # type: ignore[no-untyped-def]
        fd = real_open(path, flags, mode, dir_fd=dir_fd)
        if not opened and Path(path) == notes:
            opened.append(True)
            notes.rename(tmp_path / "moved")
            notes.symlink_to(elsewhere, target_is_directory=True)
        return fd

    monkeypatch.setattr(os, "open", open_then_swap)
    written = files.write_note(notes, "Plan", "text")
    assert list(elsewhere.iterdir()) == [] and (tmp_path / "moved" / written.name).is_file()

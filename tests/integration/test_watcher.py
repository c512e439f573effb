"""The watcher applies edits, new files, deletions and renames without an explicit sync."""

from __future__ import annotations

import time

import pytest

from tests.fakes import FakeEmbedder
from tools.index.search import search
from tools.index.watcher import IndexWatcher


def wait_until(predicate, timeout=30.0):
    """Poll until ``predicate()`` is true; fail after ``timeout`` seconds (a bound, not a speed assertion)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    pytest.fail("condition not reached in time")


def top_path(index, query):
    hits = search(index, query, k=1, mode="fts")
    return hits[0].path if hits else None


def test_watcher_keeps_the_index_fresh(tmp_path, make_index):
    docs = tmp_path / "docs"
    docs.mkdir()
    note = docs / "note.md"
    note.write_text("# Note\n\nfirst draft about otters\n")
    index = make_index(FakeEmbedder())
    index.add_root(docs)
    index.sync()
    messages = []
    watcher = IndexWatcher(index, debounce=0.2, reconcile_seconds=3600, on_sync=messages.append)
    watcher.start()
    try:
        note.write_text("# Note\n\nsecond draft about beavers\n")
        wait_until(lambda: top_path(index, "beavers") == str(note))
        assert top_path(index, "otters") is None

        fresh = docs / "sub" / "fresh.txt"
        fresh.parent.mkdir()
        fresh.write_text("a brand new file about herons\n")
        wait_until(lambda: top_path(index, "herons") == str(fresh))

        renamed = docs / "renamed.md"
        note.rename(renamed)
        wait_until(lambda: top_path(index, "beavers") == str(renamed))

        fresh.unlink()
        wait_until(lambda: top_path(index, "herons") is None)
        wait_until(lambda: any("removed" in m and "changed paths" in m for m in messages))
        assert watcher.last_error is None
    finally:
        watcher.stop()


def test_periodic_reconcile_catches_missed_changes(tmp_path, make_index):
    docs = tmp_path / "docs"
    docs.mkdir()
    index = make_index(FakeEmbedder())
    index.add_root(docs)
    index.sync()
    watcher = IndexWatcher(index, debounce=0.2, reconcile_seconds=0.5)
    watcher.start(observe=False)  # as on a network drive that sends no events
    try:
        (docs / "quiet.md").write_text("# Quiet\n\nnobody told the watcher about pelicans\n")
        wait_until(lambda: top_path(index, "pelicans") == str(docs / "quiet.md"))
    finally:
        watcher.stop()

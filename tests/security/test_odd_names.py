"""File and folder names that are not valid UTF-8 inside an indexed folder: reported, never a crash (issue 11)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tools.index.config import IndexOptions
from tools.index.manifest import Root
from tools.index.walker import Skipped, walk

pytestmark = pytest.mark.skipif(os.name == "nt", reason="Windows file names are UTF-16: no undecodable bytes")


@pytest.fixture
def docs(tmp_path: Path) -> Path:
    folder = tmp_path / "docs"
    (folder / "ok").mkdir(parents=True)
    (folder / "ok" / "fine.md").write_text("# Fine\n\nkingfisher notes\n", encoding="utf-8")
    raw = os.fsencode(folder)
    with open(raw + b"/caf\xe9.md", "wb") as f:  # Latin-1 bytes: not UTF-8
        f.write(b"# Cafe\n\nmenu of the day\n")
    os.mkdir(raw + b"/d\xffir")
    with open(raw + b"/d\xffir/inner.md", "wb") as f:
        f.write(b"# Inner\n\nhidden below a bad folder name\n")
    return folder


def test_the_walk_reports_undecodable_names_with_a_printable_path(docs: Path) -> None:
    items = list(walk(Root(str(docs)), IndexOptions()))
    skipped = [i for i in items if isinstance(i, Skipped)]
    assert sorted(s.path for s in skipped) == [f"{docs}/caf\\xe9.md", f"{docs}/d\\xffir"]
    assert all("not valid UTF-8" in s.reason for s in skipped)
    for item in items:
        item.path.encode("utf-8")  # every path the index stores can be stored


def test_a_sync_indexes_the_rest_and_lists_the_odd_names(docs: Path, make_index, fake_embedder) -> None:  # type: ignore[no-untyped-def]
    index = make_index(fake_embedder)
    index.add_root(docs)
    report = index.sync()
    assert report.added == 1 and report.failed == 2
    again = index.sync()  # stable: the same two, not new failures each time
    assert (again.added, again.failed, again.removed) == (0, 0, 0)
    status = index.status()
    assert {f["path"] for f in status["failures"]} == {f"{docs}/caf\\xe9.md", f"{docs}/d\\xffir"}


def test_a_sync_of_one_odd_path_as_the_watcher_sends_it(docs: Path, make_index, fake_embedder) -> None:  # type: ignore[no-untyped-def]
    index = make_index(fake_embedder)
    index.add_root(docs)
    odd = os.fsdecode(os.fsencode(docs) + b"/caf\xe9.md")
    report = index.sync(paths=[odd])
    assert report.failed == 1 and report.failures[0]["path"] == f"{docs}/caf\\xe9.md"

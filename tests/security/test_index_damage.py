"""A damaged manifest or chunk table is reported and repaired by a sync; parser workers die with their parent."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

from tests.conftest import REPO
from tests.fakes import FakeEmbedder
from tools.errors import DeskmateError, IndexDamagedError
from tools.index.config import IndexOptions
from tools.index.knowledge import KnowledgeIndex
from tools.index.search import search

FILES = 12
QUERY = "passport renewal"


def _docs(folder: Path) -> Path:
    folder.mkdir()
    for i in range(FILES):
        (folder / f"note{i}.md").write_text(f"# Note {i}\n\nPassport renewal step {i} takes word{i} days.\n",
                                            encoding="utf-8")
    return folder


def _index(data: Path) -> KnowledgeIndex:
    return KnowledgeIndex(data, FakeEmbedder(), IndexOptions())


@pytest.fixture
def built(tmp_path: Path) -> tuple[Path, Path, int]:
    """A synced, closed index over FILES notes: (data folder, docs folder, chunk count)."""
    docs, data = _docs(tmp_path / "docs"), tmp_path / "index"
    index = _index(data)
    index.add_root(docs)
    index.sync()
    chunks = index.status()["chunks"]
    index.close()
    return data, docs, chunks


def _assert_whole(index: KnowledgeIndex, docs: Path, chunks: int) -> None:
    status = index.status()
    assert (status["files"], status["chunks"]) == (FILES, chunks)
    assert [r["path"] for r in status["roots"]] == [str(docs.resolve())]
    assert search(index, QUERY, k=3)


def test_a_manifest_overwritten_with_garbage_is_set_aside_and_rebuilt(built):
    data, docs, chunks = built
    (data / "manifest.sqlite3").write_bytes(b"this is not a database " * 400)
    index = _index(data)  # used to raise StoreError on every command, for good
    try:
        aside = list(data.glob("manifest.sqlite3.damaged-*"))
        assert [p.read_bytes()[:23] for p in aside] == [b"this is not a database "]
        assert [r.path for r in index.roots()] == [str(docs.resolve())], "the folder list is recovered from the table"
        report = index.sync()
        assert "manifest" in report.repaired and aside[0].name in report.repaired
        assert report.chunks_embedded == 0, "the vectors in the table are reused"
        _assert_whole(index, docs, chunks)
    finally:
        index.close()


def _corrupt_files_table(manifest: Path) -> None:
    with sqlite3.connect(manifest) as db:
        page_size = db.execute("PRAGMA page_size").fetchone()[0]
        root_page = db.execute("SELECT rootpage FROM sqlite_master WHERE name = 'files'").fetchone()[0]
    db.close()
    with open(manifest, "r+b") as handle:
        handle.seek((root_page - 1) * page_size + 8)
        handle.write(b"\xa5" * 512)


def test_a_damaged_manifest_page_is_reported_in_one_line_and_repaired_by_sync(built):
    data, docs, chunks = built
    _corrupt_files_table(data / "manifest.sqlite3")
    index = _index(data)
    try:
        with pytest.raises(IndexDamagedError, match=r"manifest is damaged.*run `deskmate index sync`"):
            index.status()  # used to be a sqlite3.DatabaseError traceback
        assert search(index, QUERY, k=3), "search reads the table, which is intact"
        report = index.sync()
        assert "manifest" in report.repaired
        assert list(data.glob("manifest.sqlite3.damaged-*"))
        _assert_whole(index, docs, chunks)
    finally:
        index.close()


def _live_files(table: Path, folder: str) -> list[Path]:
    """The table's files under ``folder``, newest first (the live ones: compaction writes last)."""
    return sorted((p for p in (table / folder).rglob("*.lance")), key=lambda p: p.stat().st_mtime_ns, reverse=True)


def _table_dir(data: Path) -> Path:
    (table,) = (data / "lancedb").glob("chunks_*.lance")
    return table


def test_a_truncated_data_file_makes_search_say_damaged_and_sync_repairs_it(built):
    data, docs, chunks = built
    newest = _live_files(_table_dir(data), "data")[0]
    os.truncate(newest, newest.stat().st_size // 2)
    index = _index(data)
    try:
        for _ in range(2):  # and not "no results" on the second try either
            with pytest.raises(IndexDamagedError, match=r"index is damaged .*run `deskmate index sync` to repair it"):
                search(index, QUERY, k=3)
        report = index.sync()
        assert report.repaired
        _assert_whole(index, docs, chunks)
    finally:
        index.close()


def test_after_a_repair_that_lost_rows_search_says_damaged_until_a_full_sync(built):
    data, docs, chunks = built
    newest = _live_files(_table_dir(data), "data")[0]
    os.truncate(newest, newest.stat().st_size // 2)
    index = _index(data)
    try:
        index.sync(paths=[str(docs / "note1.md")])  # the app's watcher: repairs, but re-reads one file only
        with pytest.raises(IndexDamagedError, match="rolled back|rebuilt from scratch"):
            search(index, QUERY, k=3)  # and not the part of the index that survived
        assert index.sync().repaired
        _assert_whole(index, docs, chunks)
        assert index.status()["repairs"] is None
    finally:
        index.close()


def test_a_deleted_manifest_is_rebuilt_and_files_deleted_meanwhile_leave_the_index(built):
    data, docs, chunks = built
    (data / "manifest.sqlite3").unlink()
    (docs / "note0.md").unlink()
    index = _index(data)
    try:
        assert "manifest was missing" in index.sync().repaired
        status = index.status()
        assert (status["files"], status["chunks"]) == (FILES - 1, chunks - 1)
        assert all(h.path != str((docs / "note0.md").resolve()) for h in search(index, "step 0 word0", k=FILES))
    finally:
        index.close()


def test_a_truncated_full_text_index_makes_search_say_damaged_and_sync_repairs_it(built):
    data, docs, chunks = built
    (postings,) = [p for p in _live_files(_table_dir(data), "_indices") if p.name.endswith("invert.lance")][:1]
    os.truncate(postings, postings.stat().st_size // 2)
    index = _index(data)
    try:
        with pytest.raises(IndexDamagedError, match="run `deskmate index sync` to repair it"):
            search(index, QUERY, k=3)  # used to be "search failed" after every sync, for good
        report = index.sync()
        assert report.repaired and report.chunks_embedded == 0, "only the full-text index is rebuilt"
        _assert_whole(index, docs, chunks)
    finally:
        index.close()


def test_the_damage_error_is_a_deskmate_error():
    assert issubclass(IndexDamagedError, DeskmateError)


CHILD = """
import sys, time
from pathlib import Path
from tests.fakes import FakeEmbedder
from tools.index.config import IndexOptions
from tools.index.knowledge import KnowledgeIndex
index = KnowledgeIndex(Path(sys.argv[1]), FakeEmbedder(), IndexOptions(), parse_workers=2)
index.add_root(Path(sys.argv[2]))
index.sync()
print("synced", flush=True)
time.sleep(300)
"""


@pytest.mark.slow
def test_parser_workers_and_the_resource_tracker_die_with_a_killed_sync(tmp_path):
    docs = _docs(tmp_path / "docs")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    descendants: list[psutil.Process] = []
    with subprocess.Popen([sys.executable, "-c", CHILD, str(tmp_path / "index"), str(docs)], env=env, cwd=REPO,
                          stdout=subprocess.PIPE, text=True) as child:
        try:
            assert child.stdout is not None and child.stdout.readline().strip() == "synced"
            descendants = psutil.Process(child.pid).children(recursive=True)
            assert len(descendants) >= 2, "the parser workers (and the resource tracker) are running"
            os.kill(child.pid, signal.SIGKILL)
            child.wait(timeout=30)
            _, alive = psutil.wait_procs(descendants, timeout=10)  # they used to live on for good
            assert alive == [], [" ".join(p.cmdline()) for p in alive]
        finally:
            for process in descendants:  # a failed test must not leave them behind either
                try:
                    process.kill()
                except psutil.NoSuchProcess:
                    pass
            child.kill()

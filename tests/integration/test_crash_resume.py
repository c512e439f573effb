"""kill -9 during indexing, at several points, then resume: the index opens and equals a clean build."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.fakes import FakeEmbedder
from tools.index.config import IndexOptions
from tools.index.knowledge import KnowledgeIndex

OPTIONS = IndexOptions(files_per_commit=5, chunk_tokens=64, overlap_tokens=0)


def _corpus(folder: Path, files: int = 40) -> None:
    for i in range(files):
        body = "\n\n".join(f"## Part {j}\n\nFile {i} part {j} mentions word{i}x{j} and more." for j in range(4))
        (folder / f"d{i // 10}").mkdir(parents=True, exist_ok=True)
        (folder / f"d{i // 10}" / f"f{i}.md").write_text(f"# File {i}\n\n{body}\n", encoding="utf-8")


def _snapshot(data_dir: Path) -> tuple[list[tuple[str, str, str]], dict[str, tuple[str | None, int, str]], set[str]]:
    index = KnowledgeIndex(data_dir, FakeEmbedder(), OPTIONS)
    try:
        table = index.store.read(index.table_name(index.generation))
        rows = sorted(zip(table.column("id").to_pylist(), table.column("path").to_pylist(),
                          table.column("chunk_hash").to_pylist(), strict=True))
        files = {p: (s.sha256, s.chunks, s.status) for p, s in index.manifest.files(index.generation).items()}
        return rows, files, index.manifest.journal(index.generation)
    finally:
        index.close()


def _clean_build(docs: Path, data_dir: Path) -> None:
    index = KnowledgeIndex(data_dir, FakeEmbedder(), OPTIONS)
    index.add_root(docs)
    index.sync()
    index.close()


def _crash(data_dir: Path, docs: Path, point: str, nth: int) -> int:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    child = subprocess.run([sys.executable, "-m", "tests.integration.crash_child", str(data_dir), str(docs), point,
                            str(nth)], env=env, cwd=REPO, capture_output=True, text=True, timeout=300)
    return child.returncode


@pytest.mark.slow
@pytest.mark.parametrize(
    ("point", "nth"),
    [("journal", 1), ("journal", 4), ("store-write", 2), ("store-write", 5), ("store-commit", 3),
     ("manifest-commit", 2), ("optimize", 1)],
)
def test_kill_then_resume_converges_to_a_clean_build(tmp_path, point, nth):
    docs = tmp_path / "docs"
    _corpus(docs)
    crashed = tmp_path / "crashed"
    code = _crash(crashed, docs, point, nth)
    assert code == -signal.SIGKILL, f"the child should have been killed at {point} #{nth} (exit {code})"
    # The folder changes while Deskmate is down: the resumed sync must pick that up too.
    (docs / "d0" / "f1.md").unlink()
    (docs / "d0" / "f2.md").write_text("# File 2\n\nRewritten while the index was down.\n", encoding="utf-8")
    _clean_build(docs, tmp_path / "clean")
    expected = _snapshot(tmp_path / "clean")
    resumed = KnowledgeIndex(crashed, FakeEmbedder(), OPTIONS)
    try:
        report = resumed.sync()
        assert report.failed == 0
    finally:
        resumed.close()
    rows, files, journal = _snapshot(crashed)
    assert journal == set()
    assert len({r[0] for r in rows}) == len(rows), "duplicate chunk ids"
    assert rows == expected[0]
    assert files == expected[1]


@pytest.mark.slow
def test_repeated_kills_still_converge(tmp_path):
    docs = tmp_path / "docs"
    _corpus(docs, files=30)
    _clean_build(docs, tmp_path / "clean")
    crashed = tmp_path / "crashed"
    for point, nth in [("store-write", 1), ("store-commit", 2), ("journal", 2), ("store-write", 3)]:
        assert _crash(crashed, docs, point, nth) == -signal.SIGKILL
    resumed = KnowledgeIndex(crashed, FakeEmbedder(), OPTIONS)
    resumed.sync()
    resumed.close()
    assert _snapshot(crashed)[:2] == _snapshot(tmp_path / "clean")[:2]


def test_a_damaged_table_is_repaired_and_resynced(tmp_path):
    docs = tmp_path / "docs"
    _corpus(docs, files=12)
    data_dir = tmp_path / "damaged"
    _clean_build(docs, data_dir)
    expected = _snapshot(data_dir)
    versions = sorted((data_dir / "lancedb").glob("*.lance/_versions/*.manifest"))
    assert versions
    for manifest in versions:
        manifest.write_bytes(b"\x00garbage")  # every version unreadable: the worst case
    index = KnowledgeIndex(data_dir, FakeEmbedder(), OPTIONS)
    try:
        report = index.sync()
        assert report.repaired, "the damage should be detected and reported"
        assert report.added + report.changed == 12
    finally:
        index.close()
    rows, files, journal = _snapshot(data_dir)
    assert (rows, files, journal) == expected

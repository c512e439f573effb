"""Incremental sync on real LanceDB with the fake embedder: edits, deletes, renames, touches, generations."""

from __future__ import annotations

import os
from pathlib import Path

from tests.fakes import FakeEmbedder
from tools.index.search import search


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def _sections(n: int, marker: str = "") -> str:
    return "\n\n".join(f"## Section {i}\n\nParagraph {i} talks about topic{i} {marker}." for i in range(n)) + "\n"


def _rows(index) -> list[tuple[str, str]]:
    name = index.table_name(index.generation)
    table = index.store.read(name)
    return sorted(zip(table.column("path").to_pylist(), table.column("chunk_hash").to_pylist(), strict=True))


def test_first_sync_indexes_and_second_is_a_noop(tmp_path, make_index):
    docs = tmp_path / "docs"
    _write(docs / "a.md", _sections(3))
    _write(docs / "b.txt", "plain text about gardening\n\nsecond paragraph about roses\n")
    embedder = FakeEmbedder()
    index = make_index(embedder)
    index.add_root(docs)
    first = index.sync()
    assert (first.added, first.changed, first.unchanged, first.failed) == (2, 0, 0, 0)
    assert first.chunks_embedded == len(set(embedder.embedded)) > 0
    embedder.embedded.clear()
    second = index.sync()
    assert (second.added, second.changed, second.removed, second.unchanged) == (0, 0, 0, 2)
    assert embedder.embedded == []


def test_edit_reembeds_only_changed_chunks(tmp_path, make_index):
    docs = tmp_path / "docs"
    note = _write(docs / "note.md", _sections(6))
    embedder = FakeEmbedder()
    index = make_index(embedder, chunk_tokens=64, overlap_tokens=0)
    index.add_root(docs)
    index.sync()
    before = _rows(index)
    assert len(before) == 6
    embedder.embedded.clear()
    note.write_text(_sections(6).replace("Paragraph 3 talks about topic3", "Paragraph 3 now covers volcanoes"))
    report = index.sync()
    assert report.changed == 1
    assert report.chunks_embedded == 1
    assert len(embedder.embedded) == 1 and "volcanoes" in embedder.embedded[0]
    after = _rows(index)
    assert len(after) == 6
    assert len(set(before) ^ set(after)) == 2  # one chunk replaced, nothing else touched
    assert search(index, "volcanoes", k=1, mode="fts")[0].path == str(note)


def test_touch_without_change_costs_no_embedding_and_is_remembered(tmp_path, make_index):
    docs = tmp_path / "docs"
    note = _write(docs / "note.md", _sections(2))
    embedder = FakeEmbedder()
    index = make_index(embedder)
    index.add_root(docs)
    index.sync()
    embedder.embedded.clear()
    stat = note.stat()
    os.utime(note, ns=(stat.st_atime_ns, stat.st_mtime_ns + 5_000_000_000))
    report = index.sync()
    assert (report.changed, report.unchanged, report.chunks_embedded) == (0, 1, 0)
    state = index.manifest.files(index.generation)[str(note)]
    assert state.mtime_ns == stat.st_mtime_ns + 5_000_000_000


def test_delete_and_rename(tmp_path, make_index):
    docs = tmp_path / "docs"
    gone = _write(docs / "gone.md", "# Gone\n\nThe zebra paragraph disappears.\n")
    moved = _write(docs / "old-name.md", "# Moved\n\nThe flamingo paragraph moves house.\n")
    embedder = FakeEmbedder()
    index = make_index(embedder)
    index.add_root(docs)
    index.sync()
    embedder.embedded.clear()
    gone.unlink()
    new_path = docs / "sub" / "new-name.md"
    new_path.parent.mkdir()
    moved.rename(new_path)
    report = index.sync()
    assert report.removed == 2 and report.added == 1
    assert report.chunks_embedded == 0, "a renamed file's chunks keep their vectors"
    assert search(index, "zebra", k=5, mode="fts") == []
    hits = search(index, "flamingo", k=5, mode="fts")
    assert [h.path for h in hits] == [str(new_path)]
    assert {p for p, _ in _rows(index)} == {str(new_path)}


def test_failed_file_is_recorded_and_retried_when_fixed(tmp_path, make_index):
    docs = tmp_path / "docs"
    bad = docs / "bad.txt"
    bad.parent.mkdir(parents=True)
    bad.write_bytes(b"caf\xe9 au lait\n")
    _write(docs / "good.md", "# Good\n\nThis file is fine.\n")
    index = make_index(FakeEmbedder())
    index.add_root(docs)
    report = index.sync()
    assert report.failed == 1 and report.added == 1
    assert report.failures[0]["path"] == str(bad)
    assert "UTF-8" in report.failures[0]["reason"]
    status = index.status()
    assert status["failed"] == 1 and status["files"] == 1
    assert index.sync().failed == 0, "an unchanged failed file is not parsed again"
    bad.write_text("café au lait\n", encoding="utf-8")
    fixed = index.sync()
    assert fixed.changed == 1 and fixed.failed == 0
    assert search(index, "lait", k=1, mode="fts")[0].path == str(bad)


def test_new_embedder_builds_beside_the_old_and_swaps_when_done(tmp_path, make_index):
    docs = tmp_path / "docs"
    _write(docs / "a.md", "# A\n\nApples and pears.\n")
    old = make_index(FakeEmbedder(name="one"), name="idx")
    old.add_root(docs)
    old.sync()
    old_gen = old.generation
    old.close()
    new = make_index(FakeEmbedder(name="two"), name="idx")
    assert new.rebuilding and new.active_generation == old_gen
    # Until the rebuild completes, searches read the old table by full text only.
    assert search(new, "apples", k=1)[0].path == str(docs / "a.md")
    report = new.sync()
    assert report.swapped
    assert not new.rebuilding and new.active_generation == new.generation
    assert new.store.table_names() == [new.table_name(new.generation)]
    assert new.manifest.files(old_gen) == {}
    assert search(new, "pears", k=1, mode="vector")[0].path == str(docs / "a.md")


def test_remove_root_drops_its_chunks(tmp_path, make_index):
    one, two = tmp_path / "one", tmp_path / "two"
    _write(one / "a.md", "# One\n\nalpha words\n")
    _write(two / "b.md", "# Two\n\nbeta words\n")
    index = make_index(FakeEmbedder())
    index.add_root(one)
    index.add_root(two)
    index.sync()
    assert index.remove_root(one)
    assert [r.path for r in index.roots()] == [str(two)]
    assert {p for p, _ in _rows(index)} == {str(two / "b.md")}
    assert not index.remove_root(tmp_path / "never-added")


def test_sync_of_paths_only_looks_at_those_paths(tmp_path, make_index):
    docs = tmp_path / "docs"
    a = _write(docs / "a.md", "# A\n\nfirst version\n")
    b = _write(docs / "b.md", "# B\n\nuntouched\n")
    index = make_index(FakeEmbedder())
    index.add_root(docs)
    index.sync()
    a.write_text("# A\n\nsecond version with kiwis\n")
    b.unlink()
    report = index.sync(paths=[str(a)])
    assert report.changed == 1 and report.removed == 0  # b was not asked about
    assert search(index, "kiwis", k=1, mode="fts")[0].path == str(a)
    report = index.sync(paths=[str(b)])
    assert report.removed == 1


def test_a_second_writer_is_refused_with_a_clear_error(tmp_path, make_index):
    from filelock import FileLock

    from tools.errors import IndexBusy

    docs = tmp_path / "docs"
    _write(docs / "a.md", "# A\n\ntext\n")
    index = make_index(FakeEmbedder())
    index.add_root(docs)
    other_process = FileLock(str(index.data_dir / "writer.lock"))
    with other_process:
        try:
            index.sync(wait=0.05)
        except IndexBusy as exc:
            assert "another Deskmate process" in str(exc)
        else:
            raise AssertionError("the sync should have been refused")
    assert index.sync(wait=0).added == 1
    status = index.status()
    assert status["embedder"]["model"] == "test/fake" and status["embedder"]["chunk_tokens"] == 256

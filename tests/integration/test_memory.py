"""Long-term memory on real LanceDB with the real embedding model."""

from __future__ import annotations

from pathlib import Path

import pytest

from tools.index.embedder import OnnxEmbedder
from tools.memory import MemoryError_, MemoryStore


@pytest.fixture
def store(tmp_path: Path, onnx_embedder: OnnxEmbedder) -> MemoryStore:
    return MemoryStore(tmp_path / "memory", onnx_embedder)


def test_remember_recall_by_meaning_and_forget(store: MemoryStore) -> None:
    locker = store.add("My gym locker code is 4471.")
    store.add("I prefer answers in British English.")
    store.add("My sister's birthday is on 12 May.")
    recalled = store.recall("what is the code for my locker at the gym?", k=1)
    assert [r.memory.id for r in recalled] == [locker.id]
    assert recalled[0].score > 0.5
    assert store.forget(locker.id) == locker
    assert locker.id not in [m.id for m in store.all()]
    assert store.forget(locker.id) is None


def test_unrelated_queries_recall_nothing(store: MemoryStore) -> None:
    store.add("My gym locker code is 4471.")
    assert store.recall("quarterly revenue of the archive project") == []


def test_forget_matching_removes_only_what_is_meant(store: MemoryStore) -> None:
    store.add("My gym locker code is 4471.")
    kept = store.add("I prefer answers in British English.")
    removed = store.forget_matching("my gym locker code")
    assert [m.text for m in removed] == ["My gym locker code is 4471."]
    assert [m.id for m in store.all()] == [kept.id]


def test_memories_survive_reopening_and_duplicates_are_not_stored(tmp_path: Path,
                                                                  onnx_embedder: OnnxEmbedder) -> None:
    first = MemoryStore(tmp_path / "memory", onnx_embedder)
    a = first.add("I work from the Oslo office on Tuesdays.")
    assert first.add("i work from the oslo office on tuesdays.") == a
    again = MemoryStore(tmp_path / "memory", onnx_embedder)
    assert [m.text for m in again.all()] == ["I work from the Oslo office on Tuesdays."]


def test_bad_input_is_refused_clearly(store: MemoryStore) -> None:
    with pytest.raises(MemoryError_, match="empty"):
        store.add("   ")
    with pytest.raises(MemoryError_, match="at most"):
        store.add("x" * 5000)

"""Long-term memory: facts the user asked Deskmate to remember, in LanceDB with embeddings, recalled by relevance."""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from tools.errors import DeskmateError
from tools.index.embedder import Embedder
from tools.index.store import open_table, sql_quote

TABLE = "memories"
MAX_CHARS = 2000


class MemoryError_(DeskmateError):  # noqa: N801 - trailing underscore avoids shadowing the builtin
    """The memory store cannot do what was asked."""


@dataclass(frozen=True, slots=True)
class Memory:
    id: str
    text: str
    created: float
    source: str  # "user": asked to remember; "extracted": a fact the user stated, kept with consent


@dataclass(frozen=True, slots=True)
class Recalled:
    memory: Memory
    score: float  # cosine similarity to the query


class MemoryStore:
    """One LanceDB table of memories; writes are serialised, reads run alongside."""

    def __init__(self, folder: Path, embedder: Embedder) -> None:
        self.embedder = embedder
        self._lock = threading.Lock()
        folder.mkdir(parents=True, exist_ok=True)
        try:
            dims = embedder.identity.dims
            schema = pa.schema([
                pa.field("id", pa.string()), pa.field("text", pa.string()), pa.field("created", pa.float64()),
                pa.field("source", pa.string()), pa.field("vector", pa.list_(pa.float32(), dims)),
            ])
            self._table = open_table(folder, TABLE, schema)
        except Exception as exc:  # noqa: BLE001 - LanceDB errors become Deskmate's at this boundary
            raise MemoryError_(f"cannot open the memory store in {folder}: {exc}") from exc

    @staticmethod
    def _memory(row: dict[str, Any]) -> Memory:
        return Memory(row["id"], row["text"], float(row["created"]), row["source"])

    def add(self, text: str, source: str = "user") -> Memory:
        """Remember ``text`` (an identical memory is not stored twice)."""
        text = " ".join(text.split())
        if not text:
            raise MemoryError_("nothing to remember: the text is empty")
        if len(text) > MAX_CHARS:
            raise MemoryError_(f"a memory holds at most {MAX_CHARS} characters; this one has {len(text)}")
        with self._lock:
            for existing in self.all():
                if existing.text.lower() == text.lower():
                    return existing
            memory = Memory(uuid.uuid4().hex[:12], text, time.time(), source)
            vector = np.asarray(self.embedder.embed([text])[0], dtype=np.float32)
            self._table.add([{"id": memory.id, "text": memory.text, "created": memory.created,
                              "source": memory.source, "vector": vector.tolist()}])
        return memory

    def all(self) -> list[Memory]:
        """Every memory, oldest first."""
        rows = self._table.search().select(["id", "text", "created", "source"]).limit(None).to_list()
        return sorted((self._memory(r) for r in rows), key=lambda m: m.created)

    def recall(self, query: str, k: int = 3, min_score: float = 0.35) -> list[Recalled]:
        """The ``k`` memories closest in meaning to ``query`` with at least ``min_score`` cosine similarity."""
        if self._table.count_rows() == 0 or not query.strip():
            return []
        vector = np.asarray(self.embedder.embed([query])[0], dtype=np.float32)
        nearest: Any = self._table.search(vector, query_type="vector")
        rows = nearest.distance_type("cosine").limit(k).to_list()
        found = [Recalled(self._memory(r), 1.0 - float(r["_distance"])) for r in rows]
        return [r for r in found if r.score >= min_score]

    def forget(self, memory_id: str) -> Memory | None:
        """Delete one memory by id; None when there is no such memory."""
        with self._lock:
            match = next((m for m in self.all() if m.id == memory_id), None)
            if match is not None:
                self._table.delete(f"id = {sql_quote(memory_id)}")
            return match

    def forget_matching(self, query: str, min_score: float = 0.6) -> list[Memory]:
        """Delete the memories that ``query`` clearly refers to ("forget my locker code")."""
        removed = []
        for recalled in self.recall(query, k=5, min_score=min_score):
            gone = self.forget(recalled.memory.id)
            if gone is not None:
                removed.append(gone)
        return removed

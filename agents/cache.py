"""The semantic cache: an earlier model answer for a question close enough to this one, while its sources are unchanged.

A hit needs all of: the same model and prompt version; cosine similarity of the question embeddings of at least
``min_similarity``; the same numbers, quoted phrases and identifiers in both questions, and most content words
shared (embeddings alone call "the 2023 budget" and "the 2024 budget" the same question); and every chunk the answer
cited still in the index with the same content hash. An entry that fails the last check is dropped.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from agents.workflows import named_terms, terms
from tools.dbfile import set_aside_if_damaged
from tools.index.search import exact_terms

Embed = Callable[[Sequence[str]], np.ndarray]
SourcesExist = Callable[[list[str]], bool]


@dataclass(frozen=True, slots=True)
class CacheHit:
    question: str  # the earlier question
    answer: str
    citations: list[dict[str, Any]]
    model: str
    prompt: str
    similarity: float
    created: float


def exact_parts(question: str) -> frozenset[str]:
    """Numbers, quoted phrases and identifiers (search's exact terms): a question differing in one is another one."""
    return frozenset(t.lower() for t in exact_terms(question))


def lexical_match(a: str, b: str, min_overlap: float) -> bool:
    if exact_parts(a) != exact_parts(b) or named_terms(a) != named_terms(b):
        return False  # "What port does Borealis use?" is not "What port does Aurora use?"
    ta, tb = set(terms(a)), set(terms(b))
    if not ta or not tb:
        return ta == tb
    return len(ta & tb) / len(ta | tb) >= min_overlap


class SemanticCache:
    """Model answers by question, in SQLite; at most ``max_entries`` (least recently used go first)."""

    def __init__(self, path: Path, embed: Embed, *, min_similarity: float = 0.93, min_overlap: float = 0.6,
                 max_entries: int = 2000) -> None:
        self.embed = embed
        self.min_similarity = min_similarity
        self.min_overlap = min_overlap
        self.max_entries = max_entries
        self._lock = threading.Lock()
        path.parent.mkdir(parents=True, exist_ok=True)
        set_aside_if_damaged(path)  # a cache is rebuilt as questions come: a damaged one must not stop a turn
        self._db = sqlite3.connect(str(path), check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS answers (id INTEGER PRIMARY KEY, question TEXT, vector BLOB, model TEXT, "
            "prompt TEXT, answer TEXT, citations TEXT, created REAL, used REAL)"
        )
        self._db.commit()

    def close(self) -> None:
        self._db.close()

    def lookup(self, question: str, model: str, prompt: str, sources_exist: SourcesExist) -> CacheHit | None:
        """The cached answer for ``question``, or None (a miss, or an entry whose sources changed)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT id, question, vector, answer, citations, created FROM answers WHERE model = ? AND prompt = ?",
                (model, prompt),
            ).fetchall()
        if not rows:
            return None
        query = np.asarray(self.embed([question])[0], dtype=np.float32)
        vectors = np.stack([np.frombuffer(r[2], dtype=np.float32) for r in rows])
        scores = vectors @ query
        for i in np.argsort(-scores):
            score = float(scores[i])
            if score < self.min_similarity:
                return None
            row_id, earlier, _, answer, citations_json, created = rows[int(i)]
            if not lexical_match(question, earlier, self.min_overlap):
                continue
            citations = json.loads(citations_json)
            if not sources_exist([c["chunk_hash"] for c in citations if c.get("chunk_hash")]):
                self._delete(row_id)  # a cited file changed: the answer may be stale
                continue
            with self._lock:
                self._db.execute("UPDATE answers SET used = ? WHERE id = ?", (time.time(), row_id))
                self._db.commit()
            return CacheHit(earlier, answer, citations, model, prompt, score, created)
        return None

    def store(self, question: str, answer: str, citations: list[dict[str, Any]], model: str, prompt: str) -> None:
        vector = np.asarray(self.embed([question])[0], dtype=np.float32)
        now = time.time()
        with self._lock:
            self._db.execute(
                "INSERT INTO answers (question, vector, model, prompt, answer, citations, created, used) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (question, vector.tobytes(), model, prompt, answer, json.dumps(citations), now, now),
            )
            self._db.execute(
                "DELETE FROM answers WHERE id NOT IN (SELECT id FROM answers ORDER BY used DESC LIMIT ?)",
                (self.max_entries,),
            )
            self._db.commit()

    def _delete(self, row_id: int) -> None:
        with self._lock:
            self._db.execute("DELETE FROM answers WHERE id = ?", (row_id,))
            self._db.commit()

    def clear(self) -> int:
        with self._lock:
            count = self._db.execute("DELETE FROM answers").rowcount
            self._db.commit()
        return int(count)

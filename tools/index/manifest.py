"""The index manifest (SQLite): roots, per-file state, a write-ahead journal and index metadata.

Lance holds the chunks; this database says which file produced which state, so an unchanged file costs a
stat. It is the durable half of crash safety: before chunks of a batch are written to Lance, their paths
are journaled (fsync'd); after the Lance commit the files' rows are updated and the journal entries cleared
in one transaction. A crash anywhere in between leaves journal entries that the next sync re-verifies.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tools.errors import StoreError

SCHEMA = """
CREATE TABLE IF NOT EXISTS roots (
    path TEXT PRIMARY KEY,
    include TEXT NOT NULL DEFAULT '[]',
    exclude TEXT NOT NULL DEFAULT '[]',
    added_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS files (
    generation TEXT NOT NULL,
    path TEXT NOT NULL,
    root TEXT NOT NULL,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    sha256 TEXT,
    file_type TEXT,
    title TEXT,
    chunks INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL,
    reason TEXT,
    indexed_at REAL NOT NULL,
    PRIMARY KEY (generation, path)
);
CREATE TABLE IF NOT EXISTS journal (
    generation TEXT NOT NULL,
    path TEXT NOT NULL,
    PRIMARY KEY (generation, path)
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


@dataclass(frozen=True, slots=True)
class Root:
    path: str
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class FileState:
    """What the index knows about one file in one generation."""

    path: str
    root: str
    size: int
    mtime_ns: int
    sha256: str | None
    file_type: str | None
    title: str | None
    chunks: int
    status: str  # "indexed" | "failed"
    reason: str | None
    indexed_at: float


class Manifest:
    """Thread-safe access to the manifest database; every method is one transaction."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        try:
            self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            # WAL + synchronous=FULL: a committed transaction survives a power cut, not just a killed process.
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(SCHEMA)
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"the index manifest {path} is unreadable: {exc}") from exc

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    # -- meta ----------------------------------------------------------------------------------------

    def get_meta(self, key: str) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, **values: str) -> None:
        with self._tx() as db:
            db.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", list(values.items()))

    # -- roots ---------------------------------------------------------------------------------------

    def roots(self) -> list[Root]:
        with self._lock:
            rows = self._db.execute("SELECT path, include, exclude FROM roots ORDER BY path").fetchall()
        return [Root(p, tuple(json.loads(i)), tuple(json.loads(e))) for p, i, e in rows]

    def add_root(self, root: Root) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT OR REPLACE INTO roots VALUES (?, ?, ?, ?)",
                (root.path, json.dumps(list(root.include)), json.dumps(list(root.exclude)), time.time()),
            )

    def remove_root(self, path: str) -> bool:
        with self._tx() as db:
            cur = db.execute("DELETE FROM roots WHERE path = ?", (path,))
            db.execute("DELETE FROM journal WHERE path IN (SELECT path FROM files WHERE root = ?)", (path,))
            db.execute("DELETE FROM files WHERE root = ?", (path,))
            return cur.rowcount > 0

    # -- files ---------------------------------------------------------------------------------------

    def files(self, generation: str, root: str | None = None) -> dict[str, FileState]:
        sql = "SELECT path, root, size, mtime_ns, sha256, file_type, title, chunks, status, reason, indexed_at"
        sql += " FROM files WHERE generation = ?"
        args: tuple[str, ...] = (generation,)
        if root is not None:
            sql += " AND root = ?"
            args = (generation, root)
        with self._lock:
            rows = self._db.execute(sql, args).fetchall()
        return {r[0]: FileState(*r) for r in rows}

    def journal(self, generation: str) -> set[str]:
        with self._lock:
            rows = self._db.execute("SELECT path FROM journal WHERE generation = ?", (generation,)).fetchall()
        return {r[0] for r in rows}

    def begin_batch(self, generation: str, paths: Iterable[str]) -> None:
        """Journal ``paths`` before their chunks are written to the store."""
        with self._tx() as db:
            db.executemany("INSERT OR IGNORE INTO journal VALUES (?, ?)", [(generation, p) for p in paths])

    def commit_batch(
        self, generation: str, states: Iterable[FileState], removed: Iterable[str], store_version: int
    ) -> None:
        """Record the batch's file states, drop removed files and clear their journal entries, atomically."""
        states = list(states)
        removed = list(removed)
        with self._tx() as db:
            db.executemany(
                "INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (generation, s.path, s.root, s.size, s.mtime_ns, s.sha256, s.file_type, s.title, s.chunks,
                     s.status, s.reason, s.indexed_at)
                    for s in states
                ],
            )
            db.executemany("DELETE FROM files WHERE generation = ? AND path = ?", [(generation, p) for p in removed])
            done = [(generation, s.path) for s in states] + [(generation, p) for p in removed]
            db.executemany("DELETE FROM journal WHERE generation = ? AND path = ?", done)
            db.execute(
                "INSERT OR REPLACE INTO meta VALUES (?, ?)", (f"store_version:{generation}", str(store_version))
            )

    def touch(self, generation: str, updates: Iterable[tuple[str, int, int]]) -> None:
        """Record a new (size, mtime) for files whose content hash did not change."""
        with self._tx() as db:
            db.executemany(
                "UPDATE files SET size = ?, mtime_ns = ? WHERE generation = ? AND path = ?",
                [(size, mtime, generation, path) for path, size, mtime in updates],
            )

    def invalidate(self, generation: str) -> None:
        """Forget what is known about file contents so the next sync re-verifies every file."""
        with self._tx() as db:
            db.execute("UPDATE files SET mtime_ns = -1, sha256 = NULL WHERE generation = ?", (generation,))

    def drop_generation(self, generation: str) -> None:
        with self._tx() as db:
            db.execute("DELETE FROM files WHERE generation = ?", (generation,))
            db.execute("DELETE FROM journal WHERE generation = ?", (generation,))
            db.execute("DELETE FROM meta WHERE key = ?", (f"store_version:{generation}",))

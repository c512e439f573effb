"""The index manifest (SQLite): roots, per-file state, a write-ahead journal and index metadata.

Lance holds the chunks; this database says which file produced which state, so an unchanged file costs a
stat. It is the durable half of crash safety: before chunks of a batch are written to Lance, their paths
are journaled (fsync'd); after the Lance commit the files' rows are updated and the journal entries cleared
in one transaction. A crash anywhere in between leaves journal entries that the next sync re-verifies.

Everything here can be rebuilt from the chunk table and a rescan, so a damaged file is set aside (tools/dbfile.py)
rather than repaired in place; ``salvage_roots`` keeps the folder list when the damaged file still yields it.
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

from tools.errors import IndexDamagedError, StoreError

MANIFEST_DAMAGED = "the index manifest is damaged ({}); run `deskmate index sync` to rebuild it"

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
        except sqlite3.Error as exc:
            raise _translate(exc, path) from exc
        try:
            self._db.execute("PRAGMA journal_mode=WAL")
            # WAL + synchronous=FULL: a committed transaction survives a power cut, not just a killed process.
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(SCHEMA)
        except sqlite3.Error as exc:
            self._db.close()  # the caller may set the file aside, which needs it closed
            raise _translate(exc, path) from exc

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def check(self) -> str | None:
        """What is wrong with the database file, or None when SQLite's integrity check finds it sound."""
        try:
            with self._lock:
                rows = self._db.execute("PRAGMA integrity_check(3)").fetchall()
        except sqlite3.DatabaseError as exc:
            if _damage(exc):
                return str(exc)
            raise _translate(exc, self.path) from exc
        problems = [str(r[0]) for r in rows if r[0] != "ok"]
        return "; ".join(problems) or None

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            try:
                yield self._db
            except sqlite3.Error as exc:
                raise _translate(exc, self.path) from exc

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._read() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                if db.in_transaction:  # SQLite may already have rolled back (a full disk, a damaged page)
                    db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    # -- meta ----------------------------------------------------------------------------------------

    def get_meta(self, key: str) -> str | None:
        with self._read() as db:
            row = db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, **values: str) -> None:
        with self._tx() as db:
            db.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", list(values.items()))

    def delete_meta(self, *keys: str) -> None:
        with self._tx() as db:
            db.executemany("DELETE FROM meta WHERE key = ?", [(k,) for k in keys])

    # -- roots ---------------------------------------------------------------------------------------

    def roots(self) -> list[Root]:
        with self._read() as db:
            rows = db.execute("SELECT path, include, exclude FROM roots ORDER BY path").fetchall()
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
        with self._read() as db:
            rows = db.execute(sql, args).fetchall()
        return {r[0]: FileState(*r) for r in rows}

    def journal(self, generation: str) -> set[str]:
        with self._read() as db:
            rows = db.execute("SELECT path FROM journal WHERE generation = ?", (generation,)).fetchall()
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

    def invalidate(self, generation: str, damage: str | None = None) -> None:
        """Forget what is known about file contents so the next sync re-verifies every file.

        ``damage`` (rows were lost from the table) is kept as ``damaged:GENERATION`` until a full sync has put them
        back, so that searches meanwhile say the index is damaged instead of returning part of it.
        """
        with self._tx() as db:
            db.execute("UPDATE files SET mtime_ns = -1, sha256 = NULL WHERE generation = ?", (generation,))
            if damage is not None:
                db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (f"damaged:{generation}", damage))

    def drop_generation(self, generation: str) -> None:
        with self._tx() as db:
            db.execute("DELETE FROM files WHERE generation = ?", (generation,))
            db.execute("DELETE FROM journal WHERE generation = ?", (generation,))
            db.executemany("DELETE FROM meta WHERE key = ?", [(f"store_version:{generation}",),
                                                              (f"damaged:{generation}",)])


def _damage(exc: sqlite3.Error) -> bool:
    """Whether SQLite says the file's content is bad (rather than locked, read-only or on a full disk)."""
    # Errors the sqlite3 module raises itself (a closed connection) carry no SQLite error name.
    name: str = getattr(exc, "sqlite_errorname", "") or ""
    return name.startswith(("SQLITE_CORRUPT", "SQLITE_NOTADB"))


def _translate(exc: sqlite3.Error, path: Path) -> StoreError | IndexDamagedError:
    if _damage(exc):
        return IndexDamagedError(MANIFEST_DAMAGED.format(exc))
    if getattr(exc, "sqlite_errorname", "").startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
        return StoreError(f"the index manifest {path} is busy ({exc}); try again in a moment")
    return StoreError(f"the index manifest {path} cannot be used ({exc}); check that its folder is writable "
                      "and the disk has free space")


def salvage_roots(path: Path) -> tuple[list[Root], str | None]:
    """The folder list and active generation still readable from a damaged manifest, or nothing."""
    roots: list[Root] = []
    active = None
    try:
        db = sqlite3.connect(str(path))
    except sqlite3.Error:
        return [], None
    try:
        for p, i, e in db.execute("SELECT path, include, exclude FROM roots").fetchall():
            roots.append(Root(str(p), tuple(json.loads(i)), tuple(json.loads(e))))
        row = db.execute("SELECT value FROM meta WHERE key = 'active_generation'").fetchone()
        active = None if row is None else str(row[0])
    except (sqlite3.Error, ValueError, TypeError):
        pass  # whatever came out before the damaged page is kept
    finally:
        db.close()
    return roots, active

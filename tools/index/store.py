"""The LanceDB adapter, the one module that imports lancedb: the chunk tables and the table memory opens.

One chunk table per index generation, written by one writer, searched three ways; tools/memory.py opens its own
table through ``open_table`` so the LANCEDB_LOG default below covers it too.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal

# Lance's hybrid search logs a deprecation warning on every query from Rust; keep the user's terminal clean
# unless they asked for Lance's own logging.
os.environ.setdefault("LANCEDB_LOG", "error")

import lancedb  # noqa: E402 - must follow the LANCEDB_LOG default
import numpy as np  # noqa: E402
import pyarrow as pa  # noqa: E402
from lancedb.index import FTS, IvfFlat  # noqa: E402
from lancedb.rerankers import RRFReranker  # noqa: E402

from tools.errors import IndexDamagedError, StoreError  # noqa: E402

log = logging.getLogger(__name__)

TABLE_DAMAGED = "the index is damaged ({}); run `deskmate index sync` to repair it"
# Lance appends the Rust source location to its messages; the user needs the first part only.
_RUST_LOCATION = re.compile(r",\s*/\S+\.rs:\d+:\d+\s*$")

SearchMode = Literal["hybrid", "vector", "fts"]

# Columns a search returns (the vector and the FTS-only column stay in the table).
RESULT_COLUMNS = [
    "id", "path", "root", "file_type", "title", "heading", "page", "line_start", "line_end",
    "char_start", "char_end", "text", "chunk_hash", "mtime",
]


def chunk_schema(dims: int) -> pa.Schema:
    """Arrow schema of a chunk table for vectors of ``dims`` dimensions."""
    return pa.schema([
        pa.field("id", pa.string(), nullable=False),
        pa.field("path", pa.string(), nullable=False),
        pa.field("root", pa.string(), nullable=False),
        pa.field("file_type", pa.string()),
        pa.field("title", pa.string()),
        pa.field("heading", pa.string()),
        pa.field("page", pa.int32()),
        pa.field("line_start", pa.int32()),
        pa.field("line_end", pa.int32()),
        pa.field("char_start", pa.int64()),
        pa.field("char_end", pa.int64()),
        pa.field("text", pa.string()),
        # What the full-text index sees: title and heading path in front of the text, so a query naming a
        # section title matches its chunks.
        pa.field("search_text", pa.string()),
        pa.field("chunk_hash", pa.string(), nullable=False),
        pa.field("mtime", pa.float64()),
        pa.field("vector", pa.list_(pa.float32(), dims)),
    ])


def connect(folder: Path) -> lancedb.DBConnection:
    """A LanceDB connection to the database in ``folder``; callers translate its errors into their own."""
    return lancedb.connect(str(folder))


def open_table(folder: Path, name: str, schema: pa.Schema) -> lancedb.table.Table:
    """Table ``name`` of the database in ``folder``, created empty with ``schema`` when it does not exist yet."""
    return connect(folder).create_table(name, schema=schema, exist_ok=True)


def sql_quote(value: str) -> str:
    """Quote a string literal for a Lance SQL filter."""
    return "'" + value.replace("'", "''") + "'"


def in_list(column: str, values: Iterable[str]) -> str:
    """``column IN ('a', 'b')`` for a Lance SQL filter."""
    return f"{column} IN ({', '.join(sql_quote(v) for v in values)})"


@dataclass(frozen=True, slots=True)
class OpenReport:
    """What opening or checking a table found: whether it was repaired, how, and whether rows were lost."""

    repaired: bool = False
    detail: str = ""
    lost: bool = False


class ChunkStore:
    """One LanceDB database folder; every write goes through this object's lock (one writer).

    Lance does not fsync on local disk, so after each commit the new files are fsynced here: a power cut
    right after a reported commit then cannot lose it. A table that no longer opens is rolled back to the
    newest version that reads, or dropped, and the caller is told so it can re-verify its files. Only the writer
    repairs: a reader that meets a damaged table gets an IndexDamagedError that says a sync repairs it.
    """

    def __init__(self, folder: Path, dims: int, *, vector_index_rows: int = 20_000) -> None:
        self.folder = folder
        self.dims = dims
        # Below this many rows a flat scan is fast enough; above it an IVF_FLAT index keeps vector search exact
        # within the probed partitions and under 50 ms p95 at 100k chunks (bench/search_latency.py).
        self.vector_index_rows = vector_index_rows
        folder.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._synced: set[str] = set()
        try:
            self._db = connect(folder)
        except Exception as exc:  # noqa: BLE001 - translate every library error at the boundary
            raise StoreError(f"cannot open the index store at {folder}: {exc}") from exc
        self._tables: dict[str, Any] = {}

    # -- tables --------------------------------------------------------------------------------------

    def table_names(self) -> list[str]:
        return sorted(p.name[: -len(".lance")] for p in self.folder.glob("*.lance"))

    def open(self, name: str, *, repair: bool = True) -> OpenReport:
        """Open (or create) table ``name``; if its latest version cannot be read, repair it or (a reader) say so."""
        with self._lock:
            path = self.folder / f"{name}.lance"
            if not path.exists():
                self._tables[name] = self._db.create_table(name, schema=chunk_schema(self.dims))
                self._fsync_new(path)
                return OpenReport()
            try:
                table = self._db.open_table(name)
                self._probe(table)
                self._tables[name] = table
                return OpenReport()
            except Exception as exc:  # noqa: BLE001
                if not repair:
                    raise IndexDamagedError(TABLE_DAMAGED.format(_short(exc))) from exc
                log.warning("index table %s does not open (%s); trying older versions", name, _short(exc))
                return self._repair(name, path, exc)

    def check(self, name: str) -> OpenReport:
        """Read every data and index file of ``name`` (a full sync does) and repair the table if one is damaged.

        Opening reads only the newest version's metadata and one row, so a truncated fragment or index file is
        found here, or by the search that fails on it.
        """
        with self._lock:
            table = self._table(name)
            try:
                self._probe(table, deep=True)
                return OpenReport()
            except Exception as exc:  # noqa: BLE001
                log.warning("index table %s is damaged (%s); repairing it", name, _short(exc))
                return self._repair(name, self.folder / f"{name}.lance", exc)

    def _probe(self, table: Any, *, deep: bool = False) -> None:
        table.count_rows()
        if not deep:
            table.search().select(["id"]).limit(1).to_list()
            return
        # One small column of every row opens every data file, whose footer a truncation cuts off.
        table.search().select(["chunk_hash"]).limit(None).to_arrow()
        for index in table.list_indices():
            if index.index_type == "FTS":
                table.search("x", query_type="fts", fts_columns=index.columns[0]).select(["id"]).limit(1).to_list()
            elif "vector" in index.columns:
                table.search(np.zeros(self.dims, np.float32)).select(["id"]).limit(1).to_list()

    def _repair(self, name: str, path: Path, error: Exception) -> OpenReport:
        detail = _short(error)
        try:
            table = self._db.open_table(name)
            versions = sorted((v["version"] for v in table.list_versions()), reverse=True)
        except Exception:  # noqa: BLE001
            versions = []
        if versions and self._rebuild_indexes(table):
            self._tables[name] = table
            self._fsync_new(path)
            return OpenReport(True, f"rebuilt its search indexes after: {detail}")
        for version in versions[1:]:
            try:
                table.checkout(version)
                self._probe(table, deep=True)
                table.restore()
                self._probe(table, deep=True)
                self._tables[name] = table
                self._fsync_new(path)
                return OpenReport(True, f"rolled back to version {version} after: {detail}", lost=True)
            except Exception:  # noqa: BLE001
                continue
        shutil.rmtree(path, ignore_errors=True)
        self._tables[name] = self._db.create_table(name, schema=chunk_schema(self.dims), mode="overwrite")
        self._fsync_new(path)
        return OpenReport(True, f"rebuilt from scratch after: {detail}", lost=True)

    def _rebuild_indexes(self, table: Any) -> bool:
        """When the rows all read and only an index file is damaged, drop the indexes (``maintain`` rebuilds them)."""
        try:
            table.count_rows()
            table.search().select(["chunk_hash"]).limit(None).to_arrow()
            indices = [i.name for i in table.list_indices()]
            if not indices:
                return False
            for index in indices:
                table.drop_index(index)
            self._probe(table, deep=True)
            return True
        except Exception:  # noqa: BLE001 - the rows are damaged too: roll back instead
            return False

    def drop(self, name: str) -> None:
        with self._lock:
            self._tables.pop(name, None)
            try:
                self._db.drop_table(name)
            except Exception:  # noqa: BLE001 - already gone is fine
                shutil.rmtree(self.folder / f"{name}.lance", ignore_errors=True)

    def _table(self, name: str) -> Any:
        if name not in self._tables:
            self.open(name)
        return self._tables[name]

    def version(self, name: str) -> int:
        return int(self._table(name).version)

    def count(self, name: str) -> int:
        try:
            return int(self._table(name).count_rows())
        except Exception as exc:  # noqa: BLE001
            raise self._read_error(name, "counting the index", exc) from exc

    def _read_error(self, name: str, doing: str, exc: Exception) -> IndexDamagedError | StoreError:
        """A failed read: damage (every file read again to tell) or a plain failure such as a bad filter."""
        if isinstance(exc, IndexDamagedError | StoreError):
            return exc
        try:
            self._probe(self._table(name), deep=True)
        except Exception as damage:  # noqa: BLE001
            return IndexDamagedError(TABLE_DAMAGED.format(_short(damage)))
        return StoreError(f"{doing} failed: {_short(exc)}")

    # -- writes (serialised) -------------------------------------------------------------------------

    def replace_files(self, name: str, paths: Sequence[str], rows: list[dict[str, Any]]) -> int:
        """Make the chunks of ``paths`` exactly ``rows`` in one atomic commit; returns the new version."""
        if not paths:
            return self.version(name)
        with self._lock:
            table = self._table(name)
            try:
                if rows:
                    data = pa.Table.from_pylist(rows, schema=chunk_schema(self.dims))
                    (
                        table.merge_insert("id")
                        .when_matched_update_all()
                        .when_not_matched_insert_all()
                        .when_not_matched_by_source_delete(in_list("path", paths))
                        .execute(data)
                    )
                else:
                    table.delete(in_list("path", paths))
            except Exception as exc:  # noqa: BLE001
                raise StoreError(f"writing {len(rows)} chunks to the index failed: {exc}") from exc
            self._after_write(name)
            return int(table.version)

    def delete_where(self, name: str, where: str) -> None:
        with self._lock:
            table = self._table(name)
            try:
                table.delete(where)
            except Exception as exc:  # noqa: BLE001
                raise StoreError(f"deleting from the index failed: {exc}") from exc
            self._after_write(name)

    def _after_write(self, name: str) -> None:
        self._fsync_new(self.folder / f"{name}.lance")

    def _fsync_new(self, root: Path) -> None:
        """Fsync every file and folder under ``root`` not fsynced before (Lance only writes, never syncs)."""
        for dirpath, _dirnames, filenames in os.walk(root):
            for filename in filenames:
                full = os.path.join(dirpath, filename)
                if full not in self._synced and _fsync(full):
                    self._synced.add(full)
            if os.name == "posix":  # Windows cannot open folders for fsync; NTFS journals metadata itself
                _fsync(dirpath)

    def _piled_up(self, table: Any, fts_name: str, rows: int) -> bool:
        """True when fragments or rows missing from the full-text index have piled up enough to slow searches."""
        unindexed = table.index_stats(fts_name).num_unindexed_rows
        fragments = table.stats()["fragment_stats"]["num_fragments"]
        return bool(fragments > 32 or unindexed > 2000 or unindexed > rows // 10)

    def maintain(self, name: str, *, force: bool = False) -> bool:
        """Build missing indexes, refresh the full-text index, compact fragments and drop old versions when it pays.

        Every commit adds a fragment and a version, and rows added after the FTS index was built are searched by
        brute force until ``optimize()``; folding them in costs time proportional to the table, so it runs only
        when they have piled up (or when asked).
        """
        with self._lock:
            table = self._table(name)
            try:
                rows = table.count_rows()
                if rows == 0:
                    return False
                indices = table.list_indices()
                fts = next((i.name for i in indices if i.index_type == "FTS"), None)
                needs_vector = rows >= self.vector_index_rows and not any("vector" in i.columns for i in indices)
                if not (force or fts is None or needs_vector or self._piled_up(table, fts, rows)):
                    return False
                if fts is None:
                    table.create_index("search_text", config=FTS(with_position=True), replace=True)
                if needs_vector:
                    table.create_index("vector", config=IvfFlat(distance_type="cosine"), replace=True)
                # Keep a minute of old versions: a search in another process may still be reading one.
                table.optimize(cleanup_older_than=timedelta(minutes=1))
            except Exception as exc:  # noqa: BLE001
                raise StoreError(f"optimising the index failed: {exc}") from exc
            self._synced = {p for p in self._synced if os.path.exists(p)}
            self._fsync_new(self.folder / f"{name}.lance")
            return True

    # -- reads ---------------------------------------------------------------------------------------

    def vectors_for_hashes(self, name: str, hashes: Sequence[str]) -> dict[str, np.ndarray]:
        """Existing vectors by chunk hash, so unchanged (or moved) text is never embedded twice."""
        found: dict[str, np.ndarray] = {}
        table = self._table(name)
        unique = list(dict.fromkeys(hashes))
        for start in range(0, len(unique), 1000):
            part = unique[start : start + 1000]
            try:
                rows = table.search().where(in_list("chunk_hash", part)).select(["chunk_hash", "vector"]).limit(
                    None
                ).to_arrow()
            except Exception as exc:  # noqa: BLE001
                raise self._read_error(name, "reading stored vectors", exc) from exc
            for h, v in zip(rows.column("chunk_hash").to_pylist(), rows.column("vector").to_numpy(), strict=True):
                found.setdefault(h, v)
        return found

    def read(self, name: str, columns: Sequence[str] | None = None, *, where: str | None = None,
             limit: int | None = None) -> pa.Table:
        """The whole table (or some columns, the rows ``where`` selects, the first ``limit``) as Arrow."""
        query = self._table(name).search()
        if where is not None:
            query = query.where(where)
        if columns is not None:
            query = query.select(list(columns))
        try:
            result: pa.Table = query.limit(limit).to_arrow()
        except Exception as exc:  # noqa: BLE001
            raise self._read_error(name, "reading the index", exc) from exc
        return result

    def search(
        self,
        name: str,
        *,
        mode: SearchMode,
        text: str,
        vector: np.ndarray | None,
        where: str | None,
        limit: int,
    ) -> list[dict[str, Any]]:
        """Top ``limit`` chunks; each dict has the RESULT_COLUMNS plus ``score`` (higher is better)."""
        table = self._table(name)
        try:
            if mode == "fts":
                query = table.search(text, query_type="fts", fts_columns="search_text")
            elif mode == "vector":
                query = table.search(vector, query_type="vector").distance_type("cosine")
            else:
                query = (
                    table.search(query_type="hybrid", fts_columns="search_text")
                    .vector(vector)
                    .text(text)
                    .distance_type("cosine")
                    .rerank(RRFReranker(return_score="relevance"))
                )
            if where:
                query = query.where(where, prefilter=True)
            # Naming the score column keeps Lance from warning that it projects it implicitly.
            score_columns = {"fts": ["_score"], "vector": ["_distance"], "hybrid": []}[mode]
            rows = query.select([*RESULT_COLUMNS, *score_columns]).limit(limit).to_list()
        except Exception as exc:  # noqa: BLE001
            raise self._read_error(name, "search", exc) from exc
        hits: list[dict[str, Any]] = rows
        for row in hits:
            if mode == "fts":
                row["score"] = float(row.pop("_score", 0.0))
            elif mode == "vector":
                row["score"] = 1.0 - float(row.pop("_distance", 1.0))
            else:
                row["score"] = float(row.pop("_relevance_score", 0.0))
        return hits

    def has_fts(self, name: str) -> bool:
        try:
            return any(i.index_type == "FTS" for i in self._table(name).list_indices())
        except Exception as exc:  # noqa: BLE001
            raise self._read_error(name, "listing the index's indexes", exc) from exc

    def index_types(self, name: str) -> list[str]:
        return sorted(f"{i.index_type}({','.join(i.columns)})" for i in self._table(name).list_indices())


def _short(exc: BaseException) -> str:
    """A library error as one line, without the Rust source location Lance appends."""
    lines = str(exc).strip().splitlines() or [type(exc).__name__]
    return _RUST_LOCATION.sub("", lines[0])


def _fsync(path: str) -> bool:
    """Flush one file or folder to disk; False when it vanished meanwhile (compaction removes files)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return False
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    return True

"""The knowledge index facade: roots, incremental crash-safe sync, status and the rows searches read, per data folder.

Ranking those rows (exact terms, snippets, filters) is tools/index/search.py's.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from filelock import FileLock, Timeout

from tools.dbfile import set_aside
from tools.errors import ConfigError, IndexBusy, IndexDamagedError
from tools.index.chunker import CHUNKER_VERSION, Chunk, chunk_document
from tools.index.config import IndexOptions
from tools.index.document import ParseBudget
from tools.index.embedder import Embedder
from tools.index.manifest import MANIFEST_DAMAGED, FileState, Manifest, Root, salvage_roots
from tools.index.parsing import ParseOutcome, ParsePool
from tools.index.recovery import TABLE_PREFIX, chunk_tables, refill
from tools.index.status import IndexStatus
from tools.index.store import TABLE_DAMAGED, ChunkStore, OpenReport, SearchMode, sql_quote
from tools.index.walker import FileEntry, Skipped, walk

log = logging.getLogger(__name__)

MANIFEST = "manifest.sqlite3"

ProgressFn = Callable[[str, int, int], None]
"""progress(stage, done, total): stage is "scan", "index" or "optimize"."""


@dataclass(slots=True)
class SyncReport:
    scanned: int = 0
    added: int = 0
    changed: int = 0
    removed: int = 0
    unchanged: int = 0
    failed: int = 0
    chunks_embedded: int = 0
    chunks_reused: int = 0
    chunks_written: int = 0
    seconds: float = 0.0
    generation: str = ""
    swapped: bool = False
    repaired: str = ""
    failures: list[dict[str, str]] = field(default_factory=list)
    links_skipped: int = 0
    skipped_links: list[dict[str, str]] = field(default_factory=list)  # links not followed, with the reason

    def as_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__slots__}


@dataclass(slots=True)
class _Pending:
    state: FileState
    chunks: list[Chunk]
    kind: str  # "added" | "changed" | "failed" | "skipped" (a link the walker does not follow)


class KnowledgeIndex:
    """Everything the app and the agent do with the index goes through here.

    One process writes at a time (the app or the CLI); inside it, the store and the manifest serialise writes.
    Generations: the chunk table is named after the embedder identity and chunker version. When either
    changes, a sync builds the new generation beside the old one and swaps only when it is complete; until
    then searches use the old table in full-text mode, because its vectors cannot be compared with the new
    embedder's.
    """

    def __init__(self, data_dir: Path, embedder: Embedder, options: IndexOptions | None = None,
                 *, parse_workers: int = 0) -> None:
        self.data_dir = data_dir
        self.options = options or IndexOptions()
        self.embedder = embedder
        self.parse_workers = parse_workers
        self.store = ChunkStore(data_dir / "lancedb", embedder.identity.dims)
        # Chunk size and overlap change every chunk, so they are part of the generation too.
        o = self.options
        self.generation = f"{embedder.identity.key}_c{CHUNKER_VERSION}_{o.chunk_tokens}_{o.overlap_tokens}"
        self._opened: set[str] = set()  # tables opened (and repaired if needed) by the writer
        self._readable: set[str] = set()  # tables a reader found readable
        # Kept across syncs: the watcher's small syncs then reuse warm parser processes.
        self._pool = ParsePool(parse_workers, self._budget())
        # One writer across processes too (the app's watcher and a CLI sync): Lance commits would conflict.
        self._writer = FileLock(str(data_dir / "writer.lock"))
        self._load_manifest()

    def _record_generation(self) -> None:
        identity, o = self.embedder.identity, self.options
        self.manifest.set_meta(**{f"embedder:{self.generation}": json.dumps({
            "model": identity.model_id, "recipe": identity.recipe, "source_sha256": identity.source_sha256,
            "dims": identity.dims, "key": identity.key, "chunk_tokens": o.chunk_tokens,
            "overlap_tokens": o.overlap_tokens, "chunker": CHUNKER_VERSION})})
        if self.manifest.get_meta("active_generation") is None:
            self.manifest.set_meta(active_generation=self.generation)

    # -- manifest damage -----------------------------------------------------------------------------

    def _load_manifest(self) -> None:
        """Open the manifest; one that is damaged, or that vanished beside an existing index, is rebuilt."""
        opened: Manifest | None = None
        damage = ""  # empty: a fresh manifest beside tables, so the old one was deleted or truncated to nothing
        try:
            opened = Manifest(self.data_dir / MANIFEST)
            if opened.get_meta("active_generation") is not None or not chunk_tables(self.store):
                self.manifest = opened
                self._record_generation()
                return
        except IndexDamagedError as exc:
            damage = str(exc.__cause__ or exc)
            if opened is not None:
                opened.close()
                opened = None
        try:
            self._writer.acquire(timeout=0)
        except Timeout:
            if opened is not None:
                opened.close()
            # The process that holds the lock is syncing: its sync rebuilds the manifest.
            raise IndexDamagedError(MANIFEST_DAMAGED.format(damage or "it is missing")) from None
        try:
            if opened is not None:
                self.manifest = opened
            self._rebuild_manifest(damage)
        finally:
            self._writer.release()

    def _rebuild_manifest(self, damage: str) -> None:
        """Set a damaged manifest aside and refill a fresh one (the caller holds the writer lock, closed the old one).

        An empty ``damage`` means the manifest was lost and a fresh one is already open. Memory and threads live in
        other files and are untouched.
        """
        roots: list[Root] = []
        active: str | None = None
        kept = ""
        if damage:
            aside = set_aside(self.data_dir / MANIFEST)
            roots, active = salvage_roots(aside)
            self.manifest = Manifest(self.data_dir / MANIFEST)
            kept = f"; the damaged file is kept as {aside.name}"
        for generation in chunk_tables(self.store):
            self._open_table(generation, writer=True)  # a damaged table is repaired, and lost rows remembered
        refill(self.manifest, self.store, self.generation, roots, active)
        self._record_generation()
        what = f"damaged ({damage})" if damage else "missing"
        self._note_repair(f"the index manifest was {what} and was rebuilt from the index{kept}; "
                          "a full sync re-reads every file")

    def _note_repair(self, detail: str, generation: str | None = None) -> None:
        """Log a repair and keep it for the sync report until a full sync; ``generation`` lost rows meanwhile."""
        log.warning("%s", detail)
        if generation is not None:
            self.manifest.invalidate(generation, damage=detail)
        earlier = self.manifest.get_meta("repair_note")
        self.manifest.set_meta(repair_note=f"{earlier}; {detail}" if earlier else detail)

    def close(self) -> None:
        self._pool.close()
        self.manifest.close()

    def start_parsers(self) -> None:
        """Start the parser processes ahead of the first sync that needs them."""
        self._pool.start()

    # -- generations ---------------------------------------------------------------------------------

    @property
    def active_generation(self) -> str:
        return self.manifest.get_meta("active_generation") or self.generation

    @property
    def rebuilding(self) -> bool:
        return self.active_generation != self.generation

    @staticmethod
    def table_name(generation: str) -> str:
        return f"{TABLE_PREFIX}{generation}"

    def _open_table(self, generation: str, *, writer: bool = False) -> None:
        """Open a generation's table once per process.

        The writer repairs it (and distrusts the manifest) if needed; a reader only checks, and refuses a table
        that is damaged or was repaired with rows lost until a full sync has put them back.
        """
        name = self.table_name(generation)
        if not writer:
            damage = self.manifest.get_meta(f"damaged:{generation}")
            if damage:
                raise IndexDamagedError(TABLE_DAMAGED.format(damage))
            if name not in self._opened and name not in self._readable:
                self.store.open(name, repair=False)
                self._readable.add(name)
            return
        if name in self._opened:
            return
        report = self.store.open(name)
        self._opened.add(name)
        recorded = self.manifest.get_meta(f"store_version:{generation}")
        if recorded is not None and not report.repaired and self.store.version(name) < int(recorded):
            report = OpenReport(True, "the store is older than the manifest", lost=True)
        self._note_table_repair(name, generation, report)

    def _check_table(self, generation: str) -> None:
        """Read the whole table (a full sync does) and repair what is damaged."""
        self._note_table_repair(self.table_name(generation), generation, self.store.check(self.table_name(generation)))

    def _note_table_repair(self, name: str, generation: str, report: OpenReport) -> None:
        if report.repaired:
            lost = "; every file is re-verified" if report.lost else ""
            self._note_repair(f"index table {name} repaired ({report.detail}){lost}",
                              generation if report.lost else None)

    # -- roots ---------------------------------------------------------------------------------------

    def roots(self) -> list[Root]:
        return self.manifest.roots()

    def root_of(self, path: str, roots: list[Root] | None = None) -> Root | None:
        """The root that ``path`` (absolute; roots are stored resolved) lies in, or None."""
        return next((r for r in (self.roots() if roots is None else roots) if _under(path, r.path)), None)

    def add_root(self, path: Path, include: Iterable[str] = (), exclude: Iterable[str] = ()) -> Root:
        resolved = path.expanduser().resolve()
        if not resolved.exists():
            raise ConfigError(f"{path} does not exist")
        if not (resolved.is_dir() or resolved.is_file()):
            raise ConfigError(f"{path} is neither a folder nor a file")
        root = Root(str(resolved), tuple(include), tuple(exclude))
        self.manifest.add_root(root)
        return root

    def remove_root(self, path: Path) -> bool:
        key = str(path.expanduser().resolve())
        known = {r.path for r in self.roots()}
        if key not in known:
            key = str(path.expanduser().absolute())
            if key not in known:
                return False
        with self._writer:
            for generation in {self.generation, self.active_generation}:
                name = self.table_name(generation)
                self._open_table(generation, writer=True)
                self.store.delete_where(name, f"root = {sql_quote(key)}")
            return self.manifest.remove_root(key)

    # -- sync ----------------------------------------------------------------------------------------

    def sync(self, *, paths: Iterable[str] | None = None, progress: ProgressFn | None = None,
             retry_failed: bool = False, wait: float | None = None) -> SyncReport:
        """Bring the index in line with the files on disk; with ``paths``, look only at those paths.

        Safe to interrupt at any point: the next sync resumes where this one stopped. ``wait`` bounds how long
        to wait (seconds) for another process that is writing this index; None waits as long as it takes.
        """
        try:
            self._writer.acquire(timeout=-1 if wait is None else wait)
        except Timeout:
            raise IndexBusy(
                f"another Deskmate process is updating the index in {self.data_dir}; try again when it finishes"
            ) from None
        try:
            return self._sync(paths, progress, retry_failed)
        finally:
            self._writer.release()

    def _sync(self, paths: Iterable[str] | None, progress: ProgressFn | None, retry_failed: bool) -> SyncReport:
        started = time.monotonic()
        report = SyncReport(generation=self.generation)
        gen = self.generation
        name = self.table_name(gen)
        # A full sync reads every file and row anyway; checking the manifest and the table costs a fraction more.
        problem = self.manifest.check() if paths is None else None
        if problem:
            self.manifest.close()
            self._rebuild_manifest(problem)
        self._open_table(gen, writer=True)
        if paths is None:
            self._check_table(gen)
        report.repaired = self.manifest.get_meta("repair_note") or ""
        known = self.manifest.files(gen)
        journal = self.manifest.journal(gen)
        roots = self.roots()
        entries, skipped = self._scan(roots, paths, progress)
        report.scanned = len(entries) + len(skipped)
        present = {e.path for e in entries} | {s.path for s in skipped}
        todo: list[FileEntry] = []
        for entry in entries:
            state = known.get(entry.path)
            if (state is None or entry.path in journal or state.size != entry.size
                    or state.mtime_ns != entry.mtime_ns or (retry_failed and state.status == "failed")):
                todo.append(entry)
            else:
                report.unchanged += 1
        if paths is None:
            in_roots = {r.path for r in roots}
            gone = [p for p, s in known.items() if p not in present and s.root in in_roots]
            gone += [p for p, s in known.items() if s.root not in in_roots]
        else:
            asked = [os.path.abspath(p) for p in paths]
            gone = [p for p in known if p not in present and any(_under(p, a) for a in asked)]
        gone += [p for p in journal if p not in present and p not in known]
        pending: list[_Pending] = []
        for skip in skipped:
            state = known.get(skip.path)
            kind = "skipped" if skip.link else "failed"
            if state is None or state.reason != skip.reason or state.status != kind or skip.path in journal:
                pending.append(_Pending(_failed_state(skip.path, skip.root, 0, 0, None, skip.reason, kind), [], kind))
        by_path = {e.path: e for e in todo}
        # Starting worker processes costs about a second: one file is parsed here unless they already run.
        pool = self._pool if self.parse_workers > 0 and (len(todo) > 1 or self._pool.started) else None
        outcomes = (pool or ParsePool(0, self._budget())).parse(e.path for e in todo)
        for done, outcome in enumerate(outcomes, 1):
            entry = by_path[outcome.path]
            self._classify(entry, outcome, known.get(entry.path), entry.path in journal, pending, report)
            if (sum(len(p.chunks) for p in pending) >= self.options.chunks_per_commit
                    or len(pending) >= self.options.files_per_commit):
                self._flush(name, pending, report)
                pending = []
            if progress:
                progress("index", done, len(todo))
        self._flush(name, pending, report)
        if gone:
            self.manifest.begin_batch(gen, gone)
            version = self.store.replace_files(name, gone, [])
            self.manifest.commit_batch(gen, [], gone, version)
            report.removed = len(gone)
        if progress:
            progress("optimize", 0, 1)
        self.store.maintain(name)
        if self.rebuilding and paths is None:
            self._swap(gen)
            report.swapped = True
        report.seconds = time.monotonic() - started
        self.manifest.set_meta(last_sync=str(time.time()))
        if paths is None:  # every file was re-verified: what a repair lost is back
            self.manifest.delete_meta("repair_note", f"damaged:{gen}")
        return report

    def _budget(self) -> ParseBudget:
        o = self.options
        return ParseBudget(max_chars=o.max_chars, max_pages=o.max_pages, seconds=o.parse_seconds)

    def _scan(self, roots: list[Root], paths: Iterable[str] | None,
              progress: ProgressFn | None) -> tuple[list[FileEntry], list[Skipped]]:
        entries: dict[str, FileEntry] = {}
        skipped: dict[str, Skipped] = {}
        targets: list[tuple[Root, str | None]] = []
        if paths is None:
            targets = [(root, None) for root in roots]
        else:
            for path in paths:
                absolute = os.path.abspath(path)
                root = self.root_of(absolute, roots)
                if root is not None and os.path.exists(absolute):
                    targets.append((root, absolute))
        for root, start in targets:
            for item in walk(root, self.options, start=start, roots=roots):
                if isinstance(item, FileEntry):
                    entries.setdefault(item.path, item)
                else:
                    skipped.setdefault(item.path, item)
                if progress and (len(entries) + len(skipped)) % 500 == 0:
                    progress("scan", len(entries) + len(skipped), 0)
        return list(entries.values()), list(skipped.values())

    def _classify(self, entry: FileEntry, outcome: ParseOutcome, old: FileState | None, journaled: bool,
                  pending: list[_Pending], report: SyncReport) -> None:
        if (old is not None and not journaled and outcome.sha256 is not None and old.sha256 == outcome.sha256
                and old.status == "indexed"):
            # Touched but not changed: remember the new mtime so the next sync skips it at the cost of a stat.
            self.manifest.touch(self.generation, [(entry.path, entry.size, entry.mtime_ns)])
            report.unchanged += 1
            return
        if outcome.document is None:
            reason = outcome.error or "unknown parser error"
            state = _failed_state(entry.path, entry.root, entry.size, entry.mtime_ns, outcome.sha256, reason)
            pending.append(_Pending(state, [], "failed"))
            return
        doc = outcome.document
        chunks = chunk_document(doc, self.embedder.count_tokens, max_tokens=self.options.chunk_tokens,
                                overlap_tokens=self.options.overlap_tokens)
        state = FileState(entry.path, entry.root, entry.size, entry.mtime_ns, outcome.sha256, doc.file_type,
                          doc.title, len(chunks), "indexed", None, time.time())
        pending.append(_Pending(state, chunks, "added" if old is None else "changed"))

    def _flush(self, name: str, pending: list[_Pending], report: SyncReport) -> None:
        """Write one batch: journal, embed what is new, one atomic store commit, then the manifest."""
        if not pending:
            return
        gen = self.generation
        paths = [p.state.path for p in pending]
        self.manifest.begin_batch(gen, paths)
        hashes = [c.hash for p in pending for c in p.chunks]
        vectors = self.store.vectors_for_hashes(name, hashes) if hashes else {}
        missing: dict[str, str] = {}
        for p in pending:
            for c in p.chunks:
                if c.hash not in vectors:
                    missing.setdefault(c.hash, c.embed_text)
        if missing:
            fresh = self.embedder.embed(list(missing.values()))
            vectors.update(zip(missing.keys(), fresh, strict=True))
        report.chunks_embedded += len(missing)
        report.chunks_reused += len(set(hashes)) - len(missing)
        rows: list[dict[str, Any]] = []
        for p in pending:
            rows.extend(_rows(p.state, p.chunks, vectors))
        version = self.store.replace_files(name, paths, rows)
        self.manifest.commit_batch(gen, [p.state for p in pending], [], version)
        report.chunks_written += len(rows)
        for p in pending:
            if p.kind == "failed":
                report.failed += 1
                report.failures.append({"path": p.state.path, "reason": p.state.reason or ""})
            elif p.kind == "skipped":
                report.links_skipped += 1
                report.skipped_links.append({"path": p.state.path, "reason": p.state.reason or ""})
            elif p.kind == "added":
                report.added += 1
            else:
                report.changed += 1

    def _swap(self, gen: str) -> None:
        old = self.active_generation
        self.manifest.set_meta(active_generation=gen)
        self.store.drop(self.table_name(old))
        self.manifest.drop_generation(old)
        log.info("index generation %s replaced %s", gen, old)

    # -- reads ---------------------------------------------------------------------------------------

    def status(self, *, files: bool = False) -> dict[str, Any]:
        """``status_report(...).as_dict()``: the JSON the CLI prints and the desktop reads today."""
        return self.status_report(files=files).as_dict()

    def status_report(self, *, files: bool = False) -> IndexStatus:
        """What the active generation holds; ``files`` adds one row per file."""
        gen = self.active_generation
        self._open_table(gen)
        last = self.manifest.get_meta("last_sync")
        stored = self.manifest.get_meta(f"embedder:{gen}")
        return IndexStatus.of(
            self.manifest.files(gen).values(), self.roots(), files=files, data_dir=str(self.data_dir),
            chunks=self.store.count(self.table_name(gen)), embedder=json.loads(stored) if stored else {},
            generation=gen, rebuilding_to=self.generation if self.rebuilding else None,
            last_sync=float(last) if last else None, repairs=self.manifest.get_meta("repair_note"),
        )

    def search_table(self) -> tuple[str, bool]:
        """The table searches read, and whether its vectors match the current embedder."""
        gen = self.active_generation
        self._open_table(gen)
        return self.table_name(gen), gen == self.generation

    def search_rows(self, query: str, *, text: str, mode: SearchMode, where: str | None,
                    limit: int) -> list[dict[str, Any]]:
        """The ``limit`` best rows of the active table for ``query`` (embedded) and ``text`` (full-text words).

        The mode falls back to what the table can serve: full-text while the index is being rebuilt for a new
        embedder (old vectors are not comparable), vectors while the full-text index is missing.
        """
        table, vectors_current = self.search_table()
        if not vectors_current:
            mode = "fts"
        if self.store.count(table) == 0:
            return []
        if mode != "vector" and not self.store.has_fts(table):
            # Only a first sync interrupted before its end leaves rows without the full-text index; the next sync
            # builds it. Searching is read-only, so use the vectors meanwhile.
            mode = "vector"
        vector = self.embed_query(query) if mode != "fts" else None
        return self.store.search(table, mode=mode, text=text, vector=vector, where=where, limit=limit)

    def embed_query(self, text: str) -> np.ndarray:
        vector: np.ndarray = self.embedder.embed([text])[0]
        return vector

    def has_chunks(self, hashes: list[str]) -> bool:
        """Whether every chunk with these content hashes is still indexed (a cached answer's sources unchanged)."""
        if not hashes:
            return True
        try:
            name, _ = self.search_table()
            return set(hashes) <= set(self.store.vectors_for_hashes(name, hashes))
        except IndexDamagedError:
            return False  # cannot be confirmed: the question is answered afresh, and the search says why


def _under(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def _failed_state(path: str, root: str, size: int, mtime_ns: int, sha: str | None, reason: str,
                  status: str = "failed") -> FileState:
    return FileState(path, root, size, mtime_ns, sha, None, None, 0, status, reason, time.time())


def _rows(state: FileState, chunks: list[Chunk], vectors: dict[str, np.ndarray]) -> list[dict[str, Any]]:
    rows = []
    seen: dict[str, int] = {}
    mtime = state.mtime_ns / 1e9
    for chunk in chunks:
        # The id is stable while a chunk's text is, so re-saving a file rewrites only what changed.
        occurrence = seen.get(chunk.hash, 0)
        seen[chunk.hash] = occurrence + 1
        rows.append({
            "id": f"{state.path}\x00{chunk.hash}\x00{occurrence}",
            "path": state.path,
            "root": state.root,
            "file_type": state.file_type,
            "title": state.title,
            "heading": chunk.heading,
            "page": chunk.page,
            "line_start": chunk.line_start,
            "line_end": chunk.line_end,
            "char_start": chunk.char_start,
            "char_end": chunk.char_end,
            "text": chunk.text,
            "search_text": chunk.embed_text,
            "chunk_hash": chunk.hash,
            "mtime": mtime,
            "vector": vectors[chunk.hash],
        })
    return rows


"""Refilling a lost or damaged index manifest from the chunk tables that survive it."""

from __future__ import annotations

import os

from tools.errors import IndexDamagedError
from tools.index.manifest import Manifest, Root
from tools.index.store import ChunkStore

TABLE_PREFIX = "chunks_"


def chunk_tables(store: ChunkStore) -> dict[str, str]:
    """The chunk tables on disk, by generation."""
    return {n.removeprefix(TABLE_PREFIX): n for n in store.table_names() if n.startswith(TABLE_PREFIX)}


def refill(manifest: Manifest, store: ChunkStore, generation: str, roots: list[Root], active: str | None) -> None:
    """Put the folder list, the searched generation and a journal of every stored file into a fresh manifest.

    ``roots`` and ``active`` are what the damaged manifest still gave (maybe nothing); the tables' ``root`` column
    fills in the rest, though without include/exclude patterns. Journaled files are re-verified by the next sync,
    which reuses their stored vectors and removes the chunks of files that are gone.
    """
    tables = chunk_tables(store)
    stored_roots: set[str] = set()
    for table_generation, name in tables.items():
        try:
            rows = store.read(name, ["path", "root"])
        except IndexDamagedError:
            continue  # the next sync's table check repairs it; its files are found again by the rescan
        stored_roots.update(rows.column("root").to_pylist())
        if table_generation == generation:
            manifest.begin_batch(generation, set(rows.column("path").to_pylist()))
    # A salvaged root that is neither on disk nor in a table may come from a damaged row: it is not trusted.
    trusted = [r for r in roots if r.path in stored_roots or os.path.exists(r.path)]
    for root in trusted + [Root(p) for p in sorted(stored_roots - {r.path for r in trusted})]:
        manifest.add_root(root)
    if active not in tables:
        older = sorted(set(tables) - {generation})  # a rebuild for a new embedder was under way: keep searching it
        active = older[0] if older else generation
    manifest.set_meta(active_generation=active)

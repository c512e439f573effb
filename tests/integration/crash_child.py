"""Child process for the crash tests: runs a sync and SIGKILLs itself at a chosen point.

Usage: python -m tests.integration.crash_child DATA_DIR DOCS POINT N
POINT is where to die on the N-th occurrence: journal (after the batch is journaled), store-write (while
Lance commits), store-commit (after the Lance commit, before the manifest), manifest-commit (after a whole
batch), optimize (while compacting).
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from pathlib import Path

from tests.fakes import FakeEmbedder
from tools.index.config import IndexOptions
from tools.index.knowledge import KnowledgeIndex
from tools.index.manifest import Manifest
from tools.index.store import ChunkStore


def die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def die_soon(delay: float) -> None:
    threading.Timer(delay, die).start()


def main() -> None:
    data_dir, docs, point, nth = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], int(sys.argv[4])
    calls = {"n": 0}

    def hit() -> bool:
        calls["n"] += 1
        return calls["n"] == nth

    begin, replace, commit, maintain = (Manifest.begin_batch, ChunkStore.replace_files, Manifest.commit_batch,
                                        ChunkStore.maintain)

    def begin_batch(self, *args, **kwargs):
        begin(self, *args, **kwargs)
        if point == "journal" and hit():
            die()

    def replace_files(self, *args, **kwargs):
        if point == "store-write" and hit():
            die_soon(0.002)
        version = replace(self, *args, **kwargs)
        if point == "store-commit" and hit():
            die()
        return version

    def commit_batch(self, *args, **kwargs):
        commit(self, *args, **kwargs)
        if point == "manifest-commit" and hit():
            die()

    def maintain_(self, *args, **kwargs):
        if point == "optimize" and hit():
            die_soon(0.005)
        return maintain(self, *args, **kwargs)

    Manifest.begin_batch = begin_batch
    ChunkStore.replace_files = replace_files
    Manifest.commit_batch = commit_batch
    ChunkStore.maintain = maintain_
    index = KnowledgeIndex(data_dir, FakeEmbedder(), IndexOptions(files_per_commit=5, chunk_tokens=64,
                                                                  overlap_tokens=0))
    if not index.roots():
        index.add_root(docs)
    index.sync()
    if point == "optimize":
        index.store.maintain(index.table_name(index.generation), force=True)
    index.close()


if __name__ == "__main__":
    main()

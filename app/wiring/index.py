"""The knowledge index's composition root: settings in, a ready KnowledgeIndex out."""

from __future__ import annotations

from pathlib import Path

from app.settings import AppSettings, Paths
from tools.index.embedder import OnnxEmbedder
from tools.index.knowledge import KnowledgeIndex
from tools.index.parsing import default_workers


def open_index(settings: AppSettings, paths: Paths, data_dir: Path | None = None) -> KnowledgeIndex:
    """The composition root of the index: settings in, a ready KnowledgeIndex out."""
    embedder = OnnxEmbedder(paths.models_dir, device=settings.embedder.device, threads=settings.embedder.threads)
    workers = settings.index.parse_workers
    return KnowledgeIndex(data_dir or paths.index_dir, embedder, settings.index.options(),
                          parse_workers=default_workers() if workers is None else workers)

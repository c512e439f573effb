"""Whole indexed files: every chunk of one file in reading order, for questions about all of a document.

Reads the active generation's table through the store adapter, bounded by the chunk count the manifest records, so
a huge file is refused before any of it is loaded.
"""

from __future__ import annotations

from typing import Any

from tools.errors import ToolInputError
from tools.index.knowledge import KnowledgeIndex
from tools.index.search import SearchHit
from tools.index.store import in_list

MAX_CHUNKS = 2000
_COLUMNS = ["path", "title", "heading", "page", "line_start", "line_end", "char_start", "char_end", "file_type",
            "text", "chunk_hash"]


def indexed_paths(index: KnowledgeIndex) -> list[str]:
    """The files the index holds (status "indexed") in the searched generation, sorted."""
    return sorted(s.path for s in index.manifest.files(index.active_generation).values() if s.status == "indexed")


def chunks_of(index: KnowledgeIndex, path: str, *, limit: int = MAX_CHUNKS) -> list[SearchHit]:
    """Every chunk of the indexed file ``path`` in reading order (page, then position), as hits scored 0.

    A file that is not indexed, or that has more than ``limit`` chunks, is a ToolInputError that says so.
    """
    if not isinstance(path, str) or not path or "\x00" in path:
        raise ToolInputError("give the path of one indexed file")
    state = index.manifest.files(index.active_generation).get(path)
    if state is None:
        raise ToolInputError(f"{path} is not in the index; `deskmate index status --files` lists what is")
    if state.status != "indexed":
        raise ToolInputError(f"{path} could not be indexed ({state.reason or 'no reason recorded'}), so it "
                             "cannot be read whole")
    if state.chunks > limit:
        raise ToolInputError(f"{path} has {state.chunks} passages, more than the {limit} read whole at once; "
                             "ask about one part of it instead")
    table, _ = index.search_table()
    # One more than the bound: a manifest behind the table cannot make this read unbounded.
    rows = index.store.read(table, _COLUMNS, where=in_list("path", [path]), limit=limit + 1).to_pylist()
    if len(rows) > limit:
        raise ToolInputError(f"{path} has more than {limit} passages, more than are read whole at once; "
                             "ask about one part of it instead")
    rows.sort(key=_reading_order)
    return [_hit(row) for row in rows]


def _reading_order(row: dict[str, Any]) -> tuple[int, int, int]:
    return (row.get("page") or 0, row.get("char_start") or 0, row.get("line_start") or 0)


def _hit(row: dict[str, Any]) -> SearchHit:
    text = row.get("text") or ""
    return SearchHit(
        path=row["path"], title=row.get("title"), heading=row.get("heading") or None, page=row.get("page"),
        line_start=row.get("line_start"), line_end=row.get("line_end"), char_start=row.get("char_start"),
        char_end=row.get("char_end"), file_type=row.get("file_type"), snippet=" ".join(text.split())[:240],
        text=text, score=0.0, chunk_hash=row["chunk_hash"], exact_match=False,
    )

"""Search modes, filters, exact terms and snippets on a real LanceDB table (fake embedder)."""

from __future__ import annotations

import os
from datetime import datetime, timedelta

import numpy as np
import pytest

from tests.fakes import FakeEmbedder
from tools.errors import ConfigError
from tools.index.search import SearchFilters, exact_terms, search, snippet


@pytest.fixture
def index(tmp_path, make_index):
    docs = tmp_path / "docs"
    (docs / "notes").mkdir(parents=True)
    (docs / "code").mkdir()
    (docs / "notes" / "disk.md").write_text(
        "# Storage\n\n## Errors\n\nWhen the disk is full the app stops writing and shows a warning.\n")
    (docs / "notes" / "codes.md").write_text(
        "# Error codes\n\nERR_4012 means the quota was exceeded.\n\nERR_4013 means the token expired.\n")
    (docs / "notes" / "old.txt").write_text("An old note about disk cleanup and full backups.\n")
    (docs / "code" / "store.py").write_text(
        "def replace_files(paths):\n    \"\"\"Replace the chunks of paths.\"\"\"\n    return paths\n")
    old = datetime(2020, 1, 1).timestamp()
    os.utime(docs / "notes" / "old.txt", (old, old))
    idx = make_index(FakeEmbedder())
    idx.add_root(docs)
    idx.sync()
    idx.docs = docs
    return idx


@pytest.mark.parametrize("mode", ["hybrid", "vector", "fts"])
def test_each_mode_finds_the_obvious_document(index, mode):
    hits = search(index, "disk full warning", k=3, mode=mode)
    assert hits[0].path.endswith("disk.md")
    assert hits[0].heading == "Storage > Errors"
    assert hits[0].line_start == 5 and hits[0].line_end == 5


def test_exact_identifier_ranks_first(index):
    for mode in ("hybrid", "fts"):
        hits = search(index, "what does ERR_4013 mean", k=3, mode=mode)
        assert hits[0].exact_match and "ERR_4013" in hits[0].text
    hits = search(index, "replace_files", k=2)
    assert hits[0].path.endswith("store.py") and hits[0].file_type == "python"


def test_quoted_phrase_must_match_verbatim(index):
    hits = search(index, '"token expired"', k=3)
    assert hits[0].exact_match and "token expired" in hits[0].text


def test_filters(index):
    assert {h.path for h in search(index, "disk", k=10, filters=SearchFilters(file_types=("text",)))} == {
        str(index.docs / "notes" / "old.txt")}
    globbed = search(index, "disk", k=10, filters=SearchFilters(path_glob="*.md"))
    assert globbed and all(h.path.endswith(".md") for h in globbed)
    recent = search(index, "disk", k=10, filters=SearchFilters(modified_after=datetime.now() - timedelta(days=1)))
    assert recent and all(not h.path.endswith("old.txt") for h in recent)
    older = search(index, "disk", k=10, filters=SearchFilters(modified_before=datetime(2021, 1, 1)))
    assert [h.path for h in older] == [str(index.docs / "notes" / "old.txt")]
    assert search(index, "disk", filters=SearchFilters(roots=("/nowhere",))) == []
    in_folder = search(index, "paths", k=10, filters=SearchFilters(path_glob="*/code/*"))
    assert [h.path for h in in_folder] == [str(index.docs / "code" / "store.py")]


def test_bad_queries_get_clear_errors(index):
    with pytest.raises(ConfigError, match="empty"):
        search(index, "   ")
    with pytest.raises(ConfigError, match="mode"):
        search(index, "disk", mode="semantic")
    with pytest.raises(ConfigError, match="k must"):
        search(index, "disk", k=0)


def test_empty_index_returns_nothing(make_index):
    assert search(make_index(FakeEmbedder(), name="empty"), "anything") == []


def test_exact_terms_and_snippets():
    assert exact_terms('find "disk full" ERR_4012 in parseFile and v2.1') == ["disk full", "ERR_4012", "parseFile",
                                                                             "v2.1"]
    assert exact_terms("how do wings work") == []
    text = "Lorem ipsum " * 40 + "the disk is full today " + "dolor sit " * 40
    snip = snippet(text, ["disk", "full"], width=80)
    assert "**disk** is **full**" in snip and snip.startswith("…") and snip.endswith("…")
    assert len(snip) < 120


def test_large_tables_get_a_vector_index_and_search_stays_exact(tmp_path, make_index):
    docs = tmp_path / "many"
    docs.mkdir()
    for i in range(300):
        (docs / f"n{i}.txt").write_text(f"note {i} about subject{i % 17} and item{i}\n")
    index = make_index(FakeEmbedder())
    index.store.vector_index_rows = 256  # IVF needs at least 256 rows to train
    index.add_root(docs)
    index.sync()
    name = index.table_name(index.generation)
    assert not index.store.maintain(name)  # nothing piled up: no work
    assert index.store.index_types(name) == ["FTS(search_text)", "IvfFlat(vector)"]
    table = index.store.read(name)
    vectors = np.stack(table.column("vector").to_numpy(zero_copy_only=False))
    for query in ("item123", "subject5 note", "about item7"):
        exact = table.column("path")[int(np.argmax(vectors @ index.embed_query(query)))].as_py()
        assert search(index, query, k=1, mode="vector")[0].path == exact

"""A conversation's scope: parsing ``--scope``, the search filter it becomes (real LanceDB), chips and @mentions."""

from __future__ import annotations

import json
import os
from datetime import date, datetime
from pathlib import Path

import pytest

from tools.errors import ToolInputError
from tools.index.scope import Scope, find_mentions, mentions, parse_scope
from tools.index.search import SearchFilters, search

# -- parsing ---------------------------------------------------------------------------------------------------------


def test_a_scope_is_parsed_into_absolute_folders_files_plain_types_and_dates(tmp_path: Path) -> None:
    scope = parse_scope('folder:~/Projects, type:PDF, after:2024-01-01, file:"/x/my contract.pdf", before:2025',
                        home=tmp_path)
    assert scope == Scope(folders=(str(tmp_path / "Projects"),), files=("/x/my contract.pdf",), types=("pdf",),
                          after=date(2024, 1, 1), before=date(2025, 1, 1))


@pytest.mark.parametrize(("text", "types"), [
    ("type:.md", ("markdown",)),  # the index's name for the type
    ("type:pdf, docx", ("pdf", "docx")),  # a value without a key continues the key before it
    ("type:pdf type:pdf", ("pdf",)),
    ("type:spreadsheets", ("csv", "tsv", "xlsx", "xls", "ods")),
    ("type:XLSX", ("xlsx",)),  # a format the index does not read is kept: it matches by extension
])
def test_types_are_lower_case_without_dots_and_words_name_groups(text: str, types: tuple[str, ...]) -> None:
    assert parse_scope(text).types == types


def test_keys_may_follow_each_other_and_relative_paths_start_here(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    scope = parse_scope("folder:docs type:pdf since:2024-03")
    assert scope.folders == (str(tmp_path.resolve() / "docs"),) and scope.types == ("pdf",)
    assert scope.after == date(2024, 3, 1)


def test_an_empty_scope_is_empty() -> None:
    assert parse_scope("").empty and parse_scope(" , ").empty and Scope().empty
    assert not Scope(types=("pdf",)).empty


@pytest.mark.parametrize(("text", "why"), [
    ("colour:blue", "unknown scope key 'colour'"),
    ("Projects", "is not key:value"),
    ("after:2024-13-01", "not a date"),
    ("after:yesterday", "not a date"),
    ("before:2024-02-30", "not a date"),
    ("folder:/x\x00y", "NUL byte"),
    ("after:2025-01-01, before:2024-01-01", "no day is both"),
    ("after:2024, after:2025", "after twice"),
    ("type:", "has no value"),
    ("type:documents", "every file"),
    ("type:<script>", "not a file type"),
    ("folder:~root/x", "only ~"),
    ("type:pdf," * 3000, "characters long"),
])
def test_a_bad_scope_is_a_clear_error(text: str, why: str) -> None:
    with pytest.raises(ToolInputError, match=why):
        parse_scope(text)


def test_a_windows_drive_is_a_value_not_a_key() -> None:
    assert parse_scope("folder:/a, C:\\Users").folders[-1].endswith("C:\\Users")


# -- chips, rows -----------------------------------------------------------------------------------------------------


def test_chips_describe_the_scope_and_removing_one_removes_only_it() -> None:
    scope = Scope(folders=("/home/u/Projects", "/home/u/Old"), files=("/x/contract.pdf",), types=("pdf",),
                  after=date(2024, 1, 1), before=date(2025, 1, 1))
    assert scope.describe() == ["folder: Projects", "folder: Old", "file: contract.pdf", "type: pdf",
                                "from 2024-01-01", "before 2025-01-01"]
    assert scope.without("folder: Old").folders == ("/home/u/Projects",)
    assert scope.without("from 2024-01-01").after is None and scope.without("from 2024-01-01").before is not None
    assert scope.without("type: pdf").types == () and scope.without("no such chip") == scope


def test_two_folders_of_one_name_show_their_whole_paths() -> None:
    assert Scope(folders=("/a/Projects", "/b/Projects")).describe() == ["folder: /a/Projects", "folder: /b/Projects"]


def test_a_scope_survives_a_plain_json_row() -> None:
    scope = Scope(folders=("/p",), files=("/f.pdf",), types=("pdf",), after=date(2024, 1, 1))
    row = json.loads(json.dumps(scope.as_dict()))
    assert Scope.of(row) == scope and Scope.of(None) == Scope() and Scope.of(scope) is scope


@pytest.mark.parametrize("row", [{"folders": "/p"}, {"types": [1]}, {"after": 20240101}, {"after": "soon"},
                                 {"files": ["/a\x00b"]}, ["folders"]])
def test_a_malformed_row_is_refused(row: object) -> None:
    with pytest.raises(ToolInputError):
        Scope.of(row)  # type: ignore[arg-type]


def test_with_files_reads_only_the_mentioned_files() -> None:
    thread = Scope(folders=("/p",), types=("markdown",))
    assert thread.with_files(["/x/contract.pdf"]) == Scope(files=("/x/contract.pdf",))
    assert thread.with_files([]) == thread


# -- allows ----------------------------------------------------------------------------------------------------------


def test_allows_keeps_folders_or_files_then_types_and_dates() -> None:
    start = datetime(2024, 1, 1).timestamp()
    scope = Scope(folders=("/p",), files=("/q/one.pdf",), types=("pdf",), after=date(2024, 1, 1))
    assert scope.allows("/p/deep/a.pdf") and scope.allows("/q/one.pdf", file_type="pdf")
    assert not scope.allows("/q/two.pdf") and not scope.allows("/p/a.md", file_type="markdown")
    assert not scope.allows("/pp/a.pdf")  # a folder that only starts with the same letters
    assert scope.allows("/p/a.pdf", mtime=start) and not scope.allows("/p/a.pdf", mtime=start - 1)
    assert Scope(before=date(2024, 1, 1)).allows("/x", mtime=start - 1)
    assert not Scope(before=date(2024, 1, 1)).allows("/x", mtime=start)


# -- the search filter, on a real index -------------------------------------------------------------------------------


@pytest.fixture
def tree(tmp_path: Path, make_index, fake_embedder):  # type: ignore[no-untyped-def]
    root = tmp_path / "docs"
    hostile = root / "50%_off'; DROP TABLE chunks; --"
    for folder in (root / "Projects" / "sub", root / "Projects2", root / "Other", hostile):
        folder.mkdir(parents=True)
    (root / "Projects" / "a.md").write_text("# A\n\nkingfisher plans\n", encoding="utf-8")
    (root / "Projects" / "sub" / "b.md").write_text("# B\n\nkingfisher budget\n", encoding="utf-8")
    (root / "Projects2" / "c.md").write_text("# C\n\nkingfisher lookalike\n", encoding="utf-8")
    (root / "Other" / "d.txt").write_text("kingfisher elsewhere\n", encoding="utf-8")
    (hostile / "e.md").write_text("# E\n\nkingfisher sale\n", encoding="utf-8")
    bait = root / "50 percent Xoff'; DROP TABLE chunks; --"  # what % and _ would match if they were wildcards
    bait.mkdir()
    (bait / "f.md").write_text("# F\n\nkingfisher wildcard bait\n", encoding="utf-8")
    os.utime(root / "Other" / "d.txt", (datetime(2023, 6, 1).timestamp(),) * 2)
    index = make_index(fake_embedder)
    index.add_root(root)
    index.sync()
    return index, root.resolve()


def _found(index, filters: SearchFilters) -> set[str]:  # type: ignore[no-untyped-def]
    return {os.path.basename(h.path) for h in search(index, "kingfisher", k=20, mode="fts", filters=filters)}


def test_a_folder_scope_finds_only_files_under_it(tree) -> None:  # type: ignore[no-untyped-def]
    index, root = tree
    assert _found(index, Scope(folders=(str(root / "Projects"),)).filters()) == {"a.md", "b.md"}
    both = Scope(folders=(str(root / "Projects" / "sub"),), files=(str(root / "Other" / "d.txt"),))
    assert _found(index, both.filters()) == {"b.md", "d.txt"}


def test_types_and_dates_narrow_a_search(tree) -> None:  # type: ignore[no-untyped-def]
    index, _ = tree
    assert _found(index, Scope(types=("text",)).filters()) == {"d.txt"}
    assert "d.txt" not in _found(index, Scope(after=date(2024, 1, 1)).filters())
    assert _found(index, Scope(before=date(2024, 1, 1)).filters()) == {"d.txt"}


def test_a_folder_name_with_quotes_and_like_wildcards_is_taken_literally(tree) -> None:  # type: ignore[no-untyped-def]
    index, root = tree
    hostile = str(root / "50%_off'; DROP TABLE chunks; --")
    assert _found(index, Scope(folders=(hostile,)).filters()) == {"e.md"}  # not f.md, which % and _ would match
    assert _found(index, SearchFilters(paths=(hostile + "/e.md",))) == {"e.md"}
    assert len(_found(index, SearchFilters())) == 6  # the table is still there


# -- @mentions -------------------------------------------------------------------------------------------------------

KNOWN = ["/docs/contract.pdf", "/docs/a/notes.md", "/docs/b/notes.md", "/docs/my file.pdf", "/docs/report-q3.pdf"]


@pytest.mark.parametrize(("text", "paths", "rest"), [
    ("@contract.pdf what are the deadlines", ["/docs/contract.pdf"], "what are the deadlines"),
    ("what are the deadlines in @contract.pdf?", ["/docs/contract.pdf"], "what are the deadlines in contract.pdf?"),
    ('@"my file.pdf" summarise it', ["/docs/my file.pdf"], "summarise it"),
    ("@a/notes.md and @report-q3 compared", ["/docs/a/notes.md", "/docs/report-q3.pdf"],
     "and report-q3.pdf compared"),
    ("@CONTRACT.PDF deadlines", ["/docs/contract.pdf"], "deadlines"),
    ("mail bob@contract.pdf please", [], "mail bob@contract.pdf please"),  # an address, not a mention
])
def test_mentions_name_files_by_name_path_end_or_stem(text: str, paths: list[str], rest: str) -> None:
    assert mentions(text, KNOWN) == (paths, rest)


def test_an_ambiguous_or_unknown_mention_names_nothing_and_says_which() -> None:
    found = find_mentions("@notes.md and @nothing.pdf", KNOWN)
    assert found.paths == [] and found.ambiguous == {"notes.md": ["/docs/a/notes.md", "/docs/b/notes.md"]}
    assert found.unknown == ["nothing.pdf"] and found.rest == "notes.md and nothing.pdf"


def test_hostile_mentions_are_plain_text() -> None:
    huge = "@" + "a" * 100_000
    assert mentions(huge, KNOWN)[0] == []
    assert mentions("@con\x00tract.pdf @\udcff.pdf", KNOWN)[0] == []
    assert mentions("@../../etc/passwd", KNOWN)[0] == []

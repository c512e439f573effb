"""Counting and listing questions about the index, answered exactly from the manifest (and a real index's manifest)."""

from __future__ import annotations

import os
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from tests.unit.parsers.pdf_factory import make_pdf
from tools.index.inventory import answer, human_size, indexed_files, inventory_question
from tools.index.manifest import FileState
from tools.index.scope import Scope

NOW = datetime(2025, 6, 5, 9, 0, tzinfo=UTC)  # a Thursday


@pytest.mark.parametrize("question", [
    "how many PDFs are indexed", "how many invoices did I index from 2024", "which files changed this week",
    "largest documents in Projects/", "what files are in the index", "list my spreadsheets",
    "how many documents do I have", "What are the 5 biggest PDFs?", "most recently changed files", "show me my notes",
    "how many json files are there", "which PDFs did I add in March 2024?", "list all files under ~/Documents",
    "count my PDFs", "How many PDFs are indexed?", "number of presentations in the index", "oldest notes",
])
def test_questions_about_the_index_are_recognised(question: str) -> None:
    assert inventory_question(question)


@pytest.mark.parametrize("question", [
    "how many days until Friday", "how many ports does Aurora use", "what is 17 times 23",
    "list every deadline in contract.pdf", "how many pages does contract.pdf have",
    "how many files mention the warranty", "what is the latest version of the API",
    "which file says the fee is 95 euros", "summarise notes.md", "list the steps to renew a passport",
    "how many items are on the shopping list", "what are the newest features", "hello", "",
    "which documents contain the word budget", "x" * 100_000,
])
def test_other_questions_are_not(question: str) -> None:
    assert not inventory_question(question)


def _ns(day: date, hour: int = 12) -> int:
    return int(datetime(day.year, day.month, day.day, hour, tzinfo=UTC).timestamp() * 1e9)


def _row(path: str, size: int, day: date, file_type: str | None, title: str | None = None,
         status: str = "indexed") -> FileState:
    return FileState(path, "/h", size, _ns(day), None, file_type, title, 0 if status != "indexed" else 3, status,
                     None if status == "indexed" else "damaged", 0.0)


ROWS = [
    _row("/h/Projects/a/Invoice_2024-03.pdf", 2_500_000, date(2024, 3, 5), "pdf", "Invoice March"),
    _row("/h/Projects/b/budget.csv", 1_200, date(2025, 6, 3), "csv", "budget"),
    _row("/h/Docs/invoice-2023.pdf", 900, date(2023, 7, 5), "pdf"),
    _row("/h/Docs/notes.md", 300, date(2025, 6, 4), "markdown", "Notes"),
    _row("/h/Docs/scan.pdf", 50_000, date(2024, 8, 1), "pdf", "Receipt from the INVOICE desk"),
    _row("/h/Docs/broken.pdf", 10, date(2024, 6, 4), None, status="failed"),
    _row("/h/Docs/link.pdf", 0, date(2024, 6, 4), None, status="skipped"),
]


def _ask(question: str, scope: Scope | None = None):  # type: ignore[no-untyped-def]
    found = answer(question, ROWS, scope=scope, now=NOW)
    assert found is not None
    return found


def test_a_count_is_exact_lists_the_files_and_mentions_failures() -> None:
    found = _ask("how many PDFs are indexed")
    assert found.count == 3 and found.files == ["/h/Docs/invoice-2023.pdf", "/h/Docs/scan.pdf",
                                                "/h/Projects/a/Invoice_2024-03.pdf"]
    assert found.text.splitlines()[0] == "Indexed PDFs: 3."
    assert "1 more PDF in the same selection failed to index" in found.text
    assert found.query == "count of indexed PDFs"


def test_a_topic_word_matches_names_and_titles_and_the_answer_says_so() -> None:
    found = _ask("how many invoices did I index from 2024")
    assert found.files == ["/h/Docs/scan.pdf", "/h/Projects/a/Invoice_2024-03.pdf"]  # newest first: a period
    assert found.text.startswith("Indexed files whose name or title mentions 'invoice', changed in 2024: 2.")


@pytest.mark.parametrize(("question", "expected"), [
    ("which files changed this week", ["/h/Docs/notes.md", "/h/Projects/b/budget.csv"]),
    ("which files changed since Wednesday", ["/h/Docs/notes.md"]),
    ("how many files were changed today", []),
    ("how many PDFs from March 2024", ["/h/Projects/a/Invoice_2024-03.pdf"]),
    ("how many files did I index last month", []),
    ("how many PDFs are indexed before 2024", ["/h/Docs/invoice-2023.pdf"]),
    ("how many files changed since 2024-08-01", ["/h/Docs/notes.md", "/h/Projects/b/budget.csv", "/h/Docs/scan.pdf"]),
    ("how many documents in the last 30 days", ["/h/Docs/notes.md", "/h/Projects/b/budget.csv"]),
    ("list my spreadsheets", ["/h/Projects/b/budget.csv"]),
    ("how many notes do I have", ["/h/Docs/notes.md"]),
    ("how many files in Projects", ["/h/Projects/a/Invoice_2024-03.pdf", "/h/Projects/b/budget.csv"]),
    ("list the files under /h/Docs/", ["/h/Docs/invoice-2023.pdf", "/h/Docs/notes.md", "/h/Docs/scan.pdf"]),
    ("how many images are indexed", []),
])
def test_periods_kinds_and_folders_select_the_files(question: str, expected: list[str]) -> None:
    found = _ask(question)
    assert (found.files, found.count) == (expected, len(expected))


def test_largest_ranks_by_size_with_sizes_shown() -> None:
    found = _ask("largest documents in Projects/")
    assert found.count is None and found.files == ["/h/Projects/a/Invoice_2024-03.pdf", "/h/Projects/b/budget.csv"]
    assert found.text.splitlines() == [
        "The 2 largest indexed files in folders named 'Projects':",
        "1. /h/Projects/a/Invoice_2024-03.pdf (2.4 MB, changed 2024-03-05)",
        "2. /h/Projects/b/budget.csv (1.2 KB, changed 2025-06-03)",
    ]


@pytest.mark.parametrize(("question", "expected"), [
    ("the 2 newest files", ["/h/Docs/notes.md", "/h/Projects/b/budget.csv"]),
    ("what is the oldest PDF", ["/h/Docs/invoice-2023.pdf"]),  # one: the question says PDF, not PDFs
    ("oldest PDFs", ["/h/Docs/invoice-2023.pdf", "/h/Projects/a/Invoice_2024-03.pdf", "/h/Docs/scan.pdf"]),
    ("what are the three smallest files", ["/h/Docs/notes.md", "/h/Docs/invoice-2023.pdf", "/h/Projects/b/budget.csv"]),
    ("top 10 biggest files", ["/h/Projects/a/Invoice_2024-03.pdf", "/h/Docs/scan.pdf", "/h/Projects/b/budget.csv",
                              "/h/Docs/invoice-2023.pdf", "/h/Docs/notes.md"]),
])
def test_orders_and_how_many_to_show(question: str, expected: list[str]) -> None:
    assert _ask(question).files == expected


def test_a_scope_limits_the_count_and_is_named() -> None:
    found = _ask("how many PDFs are indexed", Scope(folders=("/h/Projects",)))
    assert found.files == ["/h/Projects/a/Invoice_2024-03.pdf"]
    assert "within this conversation's scope (folder: Projects)" in found.text and "failed" not in found.text


def test_more_than_twenty_files_are_counted_and_twenty_listed() -> None:
    rows = [_row(f"/h/n/{i:03}.md", 10, date(2024, 1, 1), "markdown") for i in range(45)]
    found = answer("how many notes are indexed", rows, now=NOW)
    assert found is not None and found.count == 45 and len(found.files) == 20
    assert found.text.splitlines()[-1] == "... and 25 more."


def test_not_an_inventory_question_has_no_answer() -> None:
    assert answer("how many ports does Aurora use", ROWS, now=NOW) is None


def test_file_names_and_titles_are_data() -> None:
    rows = [_row("/h/[link](javascript:x) {0} %s.pdf", 1, date(2024, 1, 1), "pdf", "{question} ignore previous")]
    found = answer("how many PDFs are indexed", rows, now=NOW)
    assert found is not None and "/h/[link](javascript:x) {0} %s.pdf" in found.text


@pytest.mark.parametrize(("size", "shown"), [(0, "0 B"), (1023, "1023 B"), (1536, "1.5 KB"), (5 * 1024**3, "5.0 GB")])
def test_sizes_read_as_people_read_them(size: int, shown: str) -> None:
    assert human_size(size) == shown


def test_a_real_index_is_counted_from_its_manifest(tmp_path: Path, make_index, fake_embedder) -> None:  # type: ignore[no-untyped-def]
    root = tmp_path / "docs"
    (root / "Projects").mkdir(parents=True)
    make_pdf(root / "Projects" / "invoice-1.pdf", ["Invoice one"])
    make_pdf(root / "invoice-2.pdf", ["Invoice two"])
    (root / "notes.md").write_text("# Notes\n\nplain\n", encoding="utf-8")
    (root / "bad.pdf").write_bytes(b"%PDF-1.4 truncated")
    for name in ("Projects/invoice-1.pdf", "invoice-2.pdf", "notes.md", "bad.pdf"):
        os.utime(root / name, (datetime(2024, 5, 1).timestamp(),) * 2)
    index = make_index(fake_embedder)
    index.add_root(root)
    index.sync()
    rows = indexed_files(index)
    assert [r.status for r in rows if r.path.endswith("bad.pdf")] == ["failed"]
    found = answer("how many PDFs are indexed", rows, now=datetime.now())
    assert found is not None and found.count == 2
    assert "1 more PDF in the same selection failed to index" in found.text
    in_projects = answer("how many PDFs are indexed", rows, scope=Scope(folders=(str(root.resolve() / "Projects"),)),
                         now=datetime.now())
    assert in_projects is not None and in_projects.files == [str(root.resolve() / "Projects" / "invoice-1.pdf")]

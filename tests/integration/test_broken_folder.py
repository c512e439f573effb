"""A folder mixing good files with broken ones: the good ones are searchable, each bad one has its reason."""

from __future__ import annotations

import os
import zipfile

import pytest
from docx import Document

from tests.fakes import FakeEmbedder
from tests.unit.parsers.pdf_factory import make_pdf
from tools.index.document import ParseBudget
from tools.index.parsing import ParsePool
from tools.index.search import search


@pytest.fixture
def messy(tmp_path):
    docs = tmp_path / "messy"
    docs.mkdir()
    make_pdf(docs / "manual.pdf", ["Welcome to the pump manual.", "Page two explains the impeller.",
                                   "Page three covers maintenance intervals."], title="Pump manual")
    (docs / "notes.md").write_text("# Notes\n\n## Garden\n\nTomatoes need sun.\n", encoding="utf-8")
    doc = Document()
    doc.add_heading("Budget", level=1)
    doc.add_paragraph("The travel budget is 3000 euros.")
    doc.save(str(docs / "budget.docx"))
    good = (docs / "manual.pdf").read_bytes()
    (docs / "truncated.pdf").write_bytes(good[: len(good) // 2])
    make_pdf(docs / "secret.pdf", ["classified text"], password="hunter2")
    (docs / "latin1.txt").write_bytes("Ol\xe9, se\xf1or\n".encode("latin-1"))
    (docs / "binary.txt").write_bytes(os.urandom(512) + b"\x00" * 64)
    (docs / "huge.txt").write_text("big " * 300_000, encoding="utf-8")
    (docs / "empty.docx").write_bytes(b"")
    with zipfile.ZipFile(docs / "notzip.epub", "w") as z:
        z.writestr("hello.txt", "not an epub")
    (docs / "loop").mkdir()
    os.symlink(docs, docs / "loop" / "back")
    unreadable = docs / "private.md"
    unreadable.write_text("# Private\n\nhidden\n")
    unreadable.chmod(0)
    return docs


def test_good_files_are_searchable_and_bad_ones_listed(messy, make_index):
    index = make_index(FakeEmbedder(), max_file_bytes=1_000_000)
    index.parse_workers = 1  # the real worker-process path
    index.add_root(messy)
    report = index.sync()
    reasons = {os.path.basename(f["path"]): f["reason"] for f in report.failures}
    assert "truncated" in reasons["truncated.pdf"] or "corrupt" in reasons["truncated.pdf"]
    assert "encrypted" in reasons["secret.pdf"]
    assert "UTF-8" in reasons["latin1.txt"]
    assert "binary" in reasons["binary.txt"]
    assert "larger than" in reasons["huge.txt"]
    assert "empty" in reasons["empty.docx"]
    assert "notzip.epub" in reasons
    assert "symlink loop" in reasons["back"]
    if os.geteuid() != 0:  # root reads any file, so unreadability cannot be staged as root
        assert "Permission denied" in reasons["private.md"]

    impeller = search(index, "impeller", k=1, mode="fts")[0]
    assert impeller.path.endswith("manual.pdf") and impeller.page == 2 and impeller.title == "Pump manual"
    assert search(index, "tomatoes sun", k=1)[0].heading == "Notes > Garden"
    assert search(index, "travel budget euros", k=1)[0].path.endswith("budget.docx")

    status = index.status()
    assert status["failed"] == len(report.failures)
    assert {os.path.basename(f["path"]) for f in status["failures"]} == set(reasons)
    # A second sync neither re-parses nor re-reports the bad files as new failures.
    again = index.sync()
    assert again.failed == 0 and again.added == 0 and again.unchanged >= 3


def test_a_parser_over_its_time_budget_is_stopped(tmp_path):
    big = tmp_path / "big.md"
    big.write_text("\n\n".join(f"## Heading {i}\n\nParagraph {i} " + "words " * 50 for i in range(8_000)))
    small = tmp_path / "small.md"
    small.write_text("# Small\n\nfine\n")
    pool = ParsePool(1, ParseBudget(seconds=0.01))
    try:
        outcomes = {os.path.basename(o.path): o for o in pool.parse([str(big), str(small)])}
    finally:
        pool.close()
    assert outcomes["big.md"].document is None and "longer than" in outcomes["big.md"].error
    assert outcomes["small.md"].document is not None


def crash_on_poison(path: str, budget: ParseBudget):
    """A parser worker that dies like a native crash on one file (module level: it is pickled to the pool)."""
    if path.endswith("poison.md"):
        os._exit(139)
    from tools.index.parsing import parse_one

    return parse_one(path, budget)


@pytest.mark.parametrize("workers", [1, 2])
def test_a_crashing_parser_costs_only_its_file(tmp_path, workers):
    paths = []
    for name in ("a.md", "poison.md", "b.md", "c.md"):
        (tmp_path / name).write_text(f"# {name}\n\ncontent of {name}\n")
        paths.append(str(tmp_path / name))
    pool = ParsePool(workers, ParseBudget(), worker=crash_on_poison)
    try:
        outcomes = {os.path.basename(o.path): o for o in pool.parse(paths)}
    finally:
        pool.close()
    assert outcomes["poison.md"].document is None and "crashed" in outcomes["poison.md"].error
    assert all(outcomes[n].document is not None for n in ("a.md", "b.md", "c.md")), outcomes

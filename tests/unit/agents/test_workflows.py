from __future__ import annotations

from agents.citations import Citation, cite, quote_occurs, verify
from agents.workflows import extractive_answer, extractive_summary, file_list
from tests.unit.agents.helpers import hit

PASSPORT = hit("/docs/passport.md",
               "Renewing a passport takes about three weeks.\nYou need the old passport and two photos.\n"
               "The fee is 95 euros, paid at the counter.", heading="Guide", line_start=10)
BACKUP = hit("/docs/backup.md", "Backups run every night at two o'clock.\nThey are kept for thirty days.",
             heading="Guide", score=0.5)


def test_extractive_answer_quotes_the_best_sentences_with_exact_lines() -> None:
    answer = extractive_answer("How much is the passport fee?", [PASSPORT, BACKUP])
    assert answer.citations[0].quote == "The fee is 95 euros, paid at the counter."
    assert (answer.citations[0].path, answer.citations[0].line_start) == ("/docs/passport.md", 12)
    assert "[1]" in answer.text and "passport.md:12" in answer.text
    sources = {PASSPORT.chunk_hash: PASSPORT.text, BACKUP.chunk_hash: BACKUP.text}
    assert verify(answer.citations, sources) == []  # every quote really occurs in its chunk


def test_extractive_answer_says_so_when_nothing_matches() -> None:
    answer = extractive_answer("quantum chromodynamics", [PASSPORT])
    assert answer.citations == [] and "nothing" in answer.text


def test_extractive_answer_with_no_hits() -> None:
    assert extractive_answer("passport fee", []).citations == []


def test_file_list_has_one_line_per_file_in_rank_order() -> None:
    second = hit("/docs/passport.md", "Passport photos must be recent and in colour.", heading="Guide",
                 line_start=30)
    answer = file_list("passport", [PASSPORT, second, BACKUP])
    assert [c.path for c in answer.citations] == ["/docs/passport.md", "/docs/backup.md"]
    assert answer.text.splitlines()[1].startswith("1. /docs/passport.md:10")


def test_extractive_summary_keeps_reading_order_and_cites_each_sentence() -> None:
    chunks = [PASSPORT, hit("/docs/passport.md", "Passport renewal forms are online.\nPassport offices close at four.",
                            heading="Guide", line_start=20)]
    answer = extractive_summary("/docs/passport.md", chunks, max_sentences=3)
    assert len(answer.citations) == 3
    lines = [c.line_start or 0 for c in answer.citations]
    assert lines == sorted(lines)
    assert all(quote_occurs(c.quote, PASSPORT.text + chunks[1].text) for c in answer.citations)


def test_quote_check_ignores_wrapping_but_not_words() -> None:
    assert quote_occurs("takes about\n three weeks", PASSPORT.text)
    assert not quote_occurs("takes about four weeks", PASSPORT.text)
    assert not quote_occurs("", PASSPORT.text)


def test_verify_flags_a_quote_that_is_not_in_its_chunk() -> None:
    good = cite(PASSPORT, 0, 44)
    bad = Citation(PASSPORT.path, "The fee is 20 euros.", chunk_hash=PASSPORT.chunk_hash)
    assert verify([good, bad], {PASSPORT.chunk_hash: PASSPORT.text}) == [bad]


def test_where_formats_pages_and_line_ranges() -> None:
    assert Citation("/a.pdf", "q", page=3).where() == "/a.pdf p.3"
    assert Citation("/a.md", "q", line_start=4, line_end=6).where() == "/a.md:4-6"
    assert Citation("/a.md", "q", line_start=4, line_end=4).where() == "/a.md:4"

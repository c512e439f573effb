from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from agents.cache import SemanticCache, exact_parts, lexical_match
from tests.fakes import FakeEmbedder

CITED = [{"path": "/docs/passport.md", "quote": "The fee is 95 euros.", "chunk_hash": "h1"}]


@pytest.fixture
def cache(tmp_path: Path) -> Iterator[SemanticCache]:
    c = SemanticCache(tmp_path / "cache.sqlite3", FakeEmbedder().embed, min_similarity=0.8)
    yield c
    c.close()


def always(hashes: list[str]) -> bool:
    return True


def test_the_same_question_reworded_slightly_hits(cache: SemanticCache) -> None:
    cache.store("How much is the passport fee?", "95 euros [1].", CITED, "m", "p@1")
    hit = cache.lookup("how much is the passport fee", "m", "p@1", always)
    assert hit is not None and hit.answer == "95 euros [1]." and hit.citations == CITED
    assert hit.similarity >= 0.8


@pytest.mark.parametrize(
    ("question", "model", "prompt"),
    [
        ("How much was the passport fee in 2023?", "m", "p@1"),  # a number the first question did not have
        ("How much is the passport fee?", "other-model", "p@1"),
        ("How much is the passport fee?", "m", "p@2"),
        ("How long does a passport renewal take?", "m", "p@1"),
    ],
)
def test_a_different_question_model_or_prompt_misses(cache: SemanticCache, question: str, model: str,
                                                      prompt: str) -> None:
    cache.store("How much is the passport fee?", "95 euros [1].", CITED, "m", "p@1")
    assert cache.lookup(question, model, prompt, always) is None


def test_an_answer_whose_sources_changed_is_dropped(cache: SemanticCache) -> None:
    cache.store("How much is the passport fee?", "95 euros [1].", CITED, "m", "p@1")
    seen: list[list[str]] = []

    def changed(hashes: list[str]) -> bool:
        seen.append(hashes)
        return False

    assert cache.lookup("How much is the passport fee?", "m", "p@1", changed) is None
    assert seen == [["h1"]]
    assert cache.lookup("How much is the passport fee?", "m", "p@1", always) is None  # gone for good


def test_least_recently_used_entries_go_beyond_the_cap(tmp_path: Path) -> None:
    cache = SemanticCache(tmp_path / "c.sqlite3", FakeEmbedder().embed, max_entries=2, min_similarity=0.8)
    try:
        for n in ("alpha", "beta", "gamma"):
            cache.store(f"what is the {n} code?", n, [], "m", "p@1")
        assert cache.lookup("what is the alpha code?", "m", "p@1", always) is None
        assert cache.lookup("what is the gamma code?", "m", "p@1", always) is not None
    finally:
        cache.close()


def test_exact_parts_and_lexical_match() -> None:
    assert exact_parts('error ERR_4012 in "build step" on 2024-01-02') == {"err_4012", "build step", "2024-01-02"}
    assert lexical_match("How much is the passport fee?", "how much is the passport fee", 0.6)
    assert not lexical_match("passport fee 2023", "passport fee 2024", 0.6)
    assert not lexical_match("How much is the passport fee?", "How do I renew a driving licence?", 0.6)


def test_a_question_about_another_name_is_never_served_the_cached_answer() -> None:
    # The look-alike case: everything but the name is the same, so the embedding and the shared words both match.
    assert lexical_match("What port does Aurora listen on?", "What port does Aurora listen on?", 0.6)
    assert not lexical_match("What port does Borealis listen on?", "What port does Aurora listen on?", 0.6)
    assert not lexical_match("What does ERR_4012 mean?", "What does ERR_4013 mean?", 0.6)

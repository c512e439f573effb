"""What the agent tests share: search hits over two small documents, the scripted fake model behind a registry,
and the one TurnDone of a turn. The ``registry`` fixture itself lives in tests/unit/conftest.py."""

from __future__ import annotations

from agents.providers.fake import FakeChatModel
from agents.providers.registry import ModelRegistry
from agents.runner import TurnDone
from tools.index.search import SearchHit

FEE = ("Renewing a passport takes about three weeks.\nYou need the old passport and two photos.\n"
       "The fee is 95 euros, paid at the counter.")


def hit(path: str, text: str, *, heading: str | None = None, line_start: int | None = 1, page: int | None = None,
        score: float = 1.0) -> SearchHit:
    """A search hit on ``text`` (the whole chunk), starting at ``line_start``."""
    return SearchHit(path=path, title=None, heading=heading, page=page, line_start=line_start,
                     line_end=None if line_start is None else line_start + text.count("\n"), char_start=0,
                     char_end=len(text), file_type="md", snippet=text[:50], text=text, score=score,
                     chunk_hash=f"h-{path}", exact_match=False)


DOCS = [hit("/docs/passport.md", FEE), hit("/docs/backup.md", "Backups run every night and are kept for thirty days.")]


def retrieve(question: str, k: int) -> list[SearchHit]:
    """In-memory retrieval: the first ``k`` of DOCS whatever the question."""
    return DOCS[:k]


def fake(registry: ModelRegistry, name: str = "fake/m") -> FakeChatModel:
    """The scripted model behind ``name`` in ``registry``."""
    inner = registry.chat_model(name).inner
    assert isinstance(inner, FakeChatModel)
    return inner


def final(events: list[object]) -> TurnDone:
    """The turn's one TurnDone."""
    done = [e for e in events if isinstance(e, TurnDone)]
    assert len(done) == 1
    return done[0]

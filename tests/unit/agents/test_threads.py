"""The thread catalogue over a real SqliteSaver, filled by a tiny graph with the ask graph's messages channel."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, TypedDict

import pytest
from langchain_core.messages import AIMessage, AnyMessage, HumanMessage
from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import add_messages

from agents.conversations.checkpoints import open_checkpointer
from agents.conversations.threads import ThreadStore, ThreadSummary, TurnRecord, default_title
from tools.errors import ConfigError

CITE = {"path": "/docs/passport.md", "quote": "The fee is 95 euros.", "page": None, "line_start": 3, "line_end": 3,
        "heading": "Fees", "chunk_hash": "h1"}
LONG = "How long does it take to renew a passport when the old one has already expired last year?"


class State(TypedDict, total=False):
    question: str
    answer: str
    mode: str
    citations: list[dict[str, Any]]
    messages: Annotated[list[AnyMessage], add_messages]


def answer(state: State) -> State:
    question = state["question"]
    text = f"Answer to: {question}"
    return {"answer": text, "mode": "fallback", "citations": [CITE],
            "messages": [HumanMessage(question), AIMessage(text)]}


def build(saver: SqliteSaver) -> Any:
    graph = StateGraph(State)
    graph.add_node("answer", answer)
    graph.add_edge(START, "answer")
    graph.add_edge("answer", END)
    return graph.compile(checkpointer=saver)


def ask(graph: Any, store: ThreadStore, thread_id: str, question: str) -> None:
    graph.invoke({"question": question}, {"configurable": {"thread_id": thread_id}}, durability="sync")
    store.touch(thread_id, question)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "t.sqlite3"


@pytest.fixture
def saver(db: Path) -> Iterator[SqliteSaver]:
    saver = open_checkpointer(db)
    yield saver
    saver.conn.close()


class Clock:
    """A fake clock: each reading is one second after the last, starting past any real checkpoint's time (a
    thread's time is the later of its checkpoint's and its last turn's)."""

    def __init__(self, start: float = 4_000_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        self.now += 1.0
        return self.now


@pytest.fixture
def store(saver: SqliteSaver) -> ThreadStore:
    store = ThreadStore(saver, clock=Clock())
    graph = build(saver)
    ask(graph, store, "a", LONG)  # a at 4_000_000_001
    ask(graph, store, "a", "What documents do I need?")  # a at 4_000_000_002
    ask(graph, store, "b", "When do backups run?")  # b at 4_000_000_003
    return store


def test_list_is_newest_first_with_default_titles(store: ThreadStore) -> None:
    threads = store.list()
    assert [t.thread_id for t in threads] == ["b", "a"]
    b, a = threads
    assert isinstance(b, ThreadSummary)
    assert (b.title, b.turns) == ("When do backups run?", 1)
    assert a.turns == 2
    assert a.title == default_title(LONG) and len(a.title) <= 60 and a.title.endswith("…")
    assert LONG.startswith(a.title[:-1])
    assert (b.updated, a.updated) == (4_000_000_003.0, 4_000_000_002.0)


def test_messages_pairs_questions_with_answers(store: ThreadStore) -> None:
    turns = store.messages("a")
    assert [t.question for t in turns] == [LONG, "What documents do I need?"]
    assert [t.answer for t in turns] == [f"Answer to: {LONG}", "Answer to: What documents do I need?"]
    assert turns[0] == TurnRecord(LONG, f"Answer to: {LONG}")  # only the last turn keeps mode and citations
    assert (turns[1].mode, turns[1].citations) == ("fallback", [CITE])


def test_rename(store: ThreadStore) -> None:
    store.rename("a", "  Passport\nrenewal ")
    assert {t.thread_id: t.title for t in store.list()} == {"a": "Passport renewal", "b": "When do backups run?"}
    store.touch("a", "Another question")  # a later turn keeps the chosen title
    assert store.list()[0].title == "Passport renewal"
    with pytest.raises(ConfigError, match="empty"):
        store.rename("a", "   ")


def test_search_titles_and_contents_ignoring_case(store: ThreadStore) -> None:
    assert [t.thread_id for t in store.search("BACKUPS")] == ["b"]
    assert [t.thread_id for t in store.search("documents")] == ["a"]  # a later question, not the title
    assert [t.thread_id for t in store.search("answer to")] == ["b", "a"]  # answers are searched too
    store.rename("b", "Nightly jobs")
    assert [t.thread_id for t in store.search("nightly")] == ["b"]
    assert store.search("no such words") == []


def test_delete_removes_thread_everywhere(store: ThreadStore, saver: SqliteSaver) -> None:
    assert store.delete("a") is True
    assert [t.thread_id for t in store.list()] == ["b"]
    assert saver.get_tuple({"configurable": {"thread_id": "a"}}) is None
    assert not list(saver.list({"configurable": {"thread_id": "a"}}))
    assert saver.conn.execute("SELECT COUNT(*) FROM deskmate_threads WHERE thread_id = 'a'").fetchone() == (0,)
    assert saver.get_tuple({"configurable": {"thread_id": "b"}}) is not None
    assert store.delete("a") is False
    with pytest.raises(ConfigError, match="no thread 'a'"):
        store.messages("a")


def test_export_markdown(store: ThreadStore) -> None:
    text = store.export_markdown("a")
    assert text.startswith(f"# {default_title(LONG)}\n")
    assert "- Thread: `a`" in text and "- Turns: 2" in text
    assert text.index("## Turn 1") < text.index(LONG) < text.index("## Turn 2") < text.index("What documents")
    assert "Answer to: What documents do I need?" in text
    assert "- /docs/passport.md:3: “The fee is 95 euros.”" in text
    assert "_Answered in fallback mode._" in text
    assert text.endswith("\n") and not text.endswith("\n\n")


def test_export_json(store: ThreadStore) -> None:
    data = store.export_json("b")
    assert data["version"] == 1 and data["thread_id"] == "b" and data["title"] == "When do backups run?"
    assert (data["created"], data["updated"]) == ("2096-10-02T07:06:43+00:00", "2096-10-02T07:06:43+00:00")
    assert data["turns"] == [{"question": "When do backups run?", "answer": "Answer to: When do backups run?",
                              "mode": "fallback", "citations": [CITE]}]


@pytest.mark.parametrize("call", ["messages", "export_markdown", "export_json"])
def test_unknown_thread(store: ThreadStore, call: str) -> None:
    with pytest.raises(ConfigError, match="no thread 'zzz'"):
        getattr(store, call)("zzz")


def test_rename_unknown_thread(store: ThreadStore) -> None:
    with pytest.raises(ConfigError, match="no thread 'zzz'"):
        store.rename("zzz", "title")
    assert store.delete("zzz") is False


def test_reopened_database_sees_the_same_threads(store: ThreadStore, db: Path) -> None:
    store.rename("b", "Backups")
    before = store.list()
    again = open_checkpointer(db)
    try:
        reopened = ThreadStore(again)
        assert reopened.list() == before
        assert reopened.messages("a") == store.messages("a")
        assert reopened.export_json("b") == store.export_json("b")
    finally:
        again.conn.close()


def test_threads_begun_before_the_catalogue_are_listed(saver: SqliteSaver) -> None:
    graph = build(saver)
    for question in ("First question?", "Second question?"):
        graph.invoke({"question": question}, {"configurable": {"thread_id": "old"}}, durability="sync")
    store = ThreadStore(saver)
    assert store.list() == [ThreadSummary("old", "First question?", 2, store.list()[0].updated)]
    store.touch("old", "Second question?")
    assert store.list()[0].title == "First question?"
    assert store.export_json("old")["created"] is not None


def test_checkpointer_tables_are_untouched(saver: SqliteSaver, db: Path) -> None:
    ThreadStore(saver)
    with sqlite3.connect(db) as conn:
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    conn.close()
    assert tables == {"checkpoints", "writes", "deskmate_threads"}

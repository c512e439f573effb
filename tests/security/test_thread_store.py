"""The thread store as an attacker leaves it: tampered rows, foreign value types, a damaged file (issue 11, finding 1).

Any program that can write ``threads.sqlite3`` may put anything in a checkpoint row. Loading one must never import or
call what the row names, must refuse it with a clear message, and must set that one thread aside while every other
thread keeps working.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import ormsgpack
import pytest
from langgraph.checkpoint.sqlite import SqliteSaver

from agents.conversations.checkpoints import CheckpointRefused, open_checkpointer, serializer
from agents.conversations.threads import ThreadStore
from tests.integration.test_cli import deskmate
from tests.unit.agents.test_threads import ask, build

# ext codes of LangGraph's msgpack encoding: 0 = constructor with one argument, 1 = with positional arguments
EXT_SINGLE_ARG, EXT_POS_ARGS = 0, 1


def _tamper(db: Path, thread_id: str, value: object) -> None:
    """Put ``value`` into the thread's newest checkpoint, as another program writing the file could."""
    with sqlite3.connect(db) as conn:
        row = conn.execute("SELECT checkpoint_id, type, checkpoint FROM checkpoints WHERE thread_id = ? "
                           "ORDER BY checkpoint_id DESC LIMIT 1", (thread_id,)).fetchone()
        checkpoint = ormsgpack.unpackb(row[2], ext_hook=ormsgpack.Ext, option=ormsgpack.OPT_NON_STR_KEYS)
        checkpoint["channel_values"]["question"] = value
        conn.execute("UPDATE checkpoints SET checkpoint = ? WHERE thread_id = ? AND checkpoint_id = ?",
                     (ormsgpack.packb(checkpoint, option=ormsgpack.OPT_NON_STR_KEYS), thread_id, row[0]))
    conn.close()


def _system_call(marker: Path) -> ormsgpack.Ext:
    return ormsgpack.Ext(EXT_SINGLE_ARG, ormsgpack.packb(["os", "system", f"touch {marker}"]))


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "threads.sqlite3"


@pytest.fixture
def filled(db: Path) -> Iterator[SqliteSaver]:
    saver = open_checkpointer(db)
    store = ThreadStore(saver)
    graph = build(saver)
    ask(graph, store, "good", "When do backups run?")
    ask(graph, store, "bad", "What is the passport fee?")
    saver.conn.close()
    yield saver


def _open(db: Path) -> tuple[SqliteSaver, ThreadStore]:
    saver = open_checkpointer(db)
    return saver, ThreadStore(saver)


def test_a_constructor_for_os_system_never_runs(filled: SqliteSaver, db: Path, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    _tamper(db, "bad", _system_call(marker))
    saver, store = _open(db)
    try:
        listed = store.list()
    finally:
        saver.conn.close()
    assert not marker.exists()  # the code in the row did not run
    assert [t.thread_id for t in listed] == ["good"]  # the other thread still works
    assert len(store.notices) == 1 and "bad" in store.notices[0] and "os.system" in store.notices[0]


def test_the_refusal_does_not_depend_on_the_environment_or_import_order(monkeypatch: pytest.MonkeyPatch) -> None:
    # langgraph reads LANGGRAPH_STRICT_MSGPACK once at import: Deskmate's serializer must not rely on it at all.
    monkeypatch.setenv("LANGGRAPH_STRICT_MSGPACK", "false")
    blob = ormsgpack.packb({"x": ormsgpack.Ext(EXT_POS_ARGS, ormsgpack.packb(["builtins", "eval", ["1+1"]]))})
    with pytest.raises(CheckpointRefused, match="builtins.eval"):
        serializer().loads_typed(("msgpack", blob))


@pytest.mark.parametrize("kind", ["pickle", "json", "something-else"])
def test_value_types_deskmate_never_writes_are_refused(kind: str) -> None:
    with pytest.raises(CheckpointRefused, match=kind):
        serializer().loads_typed((kind, b"\x80\x04K\x01."))


def test_a_pickle_row_sets_the_thread_aside_and_keeps_its_data(filled: SqliteSaver, db: Path) -> None:
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE checkpoints SET type = 'pickle' WHERE thread_id = 'bad'")
    conn.close()
    saver, store = _open(db)
    try:
        assert [t.thread_id for t in store.list()] == ["good"]
        assert store.messages("good")[0].question == "When do backups run?"
        assert "pickle" in store.notices[0]
        # Set aside, not deleted: the rows are kept in a table the checkpointer never reads.
        kept = saver.conn.execute("SELECT COUNT(*) FROM deskmate_set_aside_checkpoints WHERE thread_id = 'bad'")
        assert kept.fetchone()[0] >= 1
        assert saver.conn.execute("SELECT COUNT(*) FROM checkpoints WHERE thread_id = 'bad'").fetchone() == (0,)
    finally:
        saver.conn.close()
    saver, again = _open(db)  # the next command does not meet it again
    try:
        assert [t.thread_id for t in again.list()] == ["good"] and again.notices == []
    finally:
        saver.conn.close()


def test_known_types_still_round_trip(filled: SqliteSaver, db: Path) -> None:
    saver, store = _open(db)
    try:
        assert {t.thread_id for t in store.list()} == {"good", "bad"} and store.notices == []
    finally:
        saver.conn.close()


def test_threads_list_on_the_command_line(deskmate_home: Path, tmp_path: Path) -> None:
    db = deskmate_home / "data" / "threads.sqlite3"
    saver = open_checkpointer(db)
    store = ThreadStore(saver)
    graph = build(saver)
    ask(graph, store, "good", "When do backups run?")
    ask(graph, store, "bad", "What is the passport fee?")
    saver.conn.close()
    marker = tmp_path / "pwned"
    _tamper(db, "bad", _system_call(marker))

    result = deskmate(deskmate_home, "threads", "list", "--json")
    assert result.returncode == 0, result.stderr
    assert not marker.exists()
    assert [t["thread_id"] for t in json.loads(result.stdout)] == ["good"]
    assert "set aside" in result.stderr and "Traceback" not in result.stderr


def test_a_damaged_file_is_set_aside_and_a_fresh_one_started(deskmate_home: Path) -> None:
    data = deskmate_home / "data"
    data.mkdir(parents=True)
    (data / "threads.sqlite3").write_bytes(b"this is not a database" * 200)

    listed = deskmate(deskmate_home, "threads", "list")
    assert listed.returncode == 0, listed.stderr
    assert "damaged" in listed.stderr and "Traceback" not in listed.stderr
    kept = [p for p in data.iterdir() if p.name.startswith("threads.sqlite3.damaged-")]
    assert len(kept) == 1 and kept[0].read_bytes().startswith(b"this is not a database")  # nothing lost
    assert "no threads yet" in listed.stdout


def test_a_damaged_page_is_set_aside_too(db: Path, filled: SqliteSaver) -> None:
    # Overwrite a page in the middle of the file: the header still says "SQLite format 3".
    size = db.stat().st_size
    with db.open("r+b") as f:
        f.seek(min(4096, size // 2))
        f.write(b"\xff" * 4096)
    saver, store = _open(db)
    try:
        assert store.list() == []
    finally:
        saver.conn.close()
    assert [p.name for p in db.parent.iterdir() if ".damaged-" in p.name]


def test_ask_with_an_unknown_thread_is_an_error(deskmate_home: Path, docs: Path) -> None:
    assert deskmate(deskmate_home, "index", "add", str(docs), "--sync").returncode == 0
    result = deskmate(deskmate_home, "ask", "How much is the passport fee?", "--thread", "nosuch")
    assert result.returncode == 1
    assert "no thread 'nosuch'" in result.stderr and "Traceback" not in result.stderr
    listed = deskmate(deskmate_home, "threads", "list", "--json")
    assert json.loads(listed.stdout) == []  # nothing was created


def test_ask_with_a_damaged_thread_store_answers_and_says_so(deskmate_home: Path, docs: Path) -> None:
    assert deskmate(deskmate_home, "index", "add", str(docs), "--sync").returncode == 0
    (deskmate_home / "data" / "threads.sqlite3").write_bytes(b"garbage" * 1000)
    result = deskmate(deskmate_home, "ask", "How much is the passport fee?", "--json")
    assert result.returncode == 0, result.stderr
    assert "threads.sqlite3 was damaged" in result.stderr
    assert json.loads(result.stdout)["citations"]  # the answer still comes, from a fresh thread store


@pytest.mark.parametrize("name", ["cache.sqlite3", "traces.sqlite3"])
def test_a_damaged_cache_or_trace_store_does_not_stop_an_answer(deskmate_home: Path, docs: Path, name: str) -> None:
    assert deskmate(deskmate_home, "index", "add", str(docs), "--sync").returncode == 0
    (deskmate_home / "data" / name).write_bytes(b"garbage" * 1000)
    result = deskmate(deskmate_home, "ask", "How much is the passport fee?", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["citations"]
    assert [p for p in (deskmate_home / "data").iterdir() if p.name.startswith(f"{name}.damaged-")]

"""The thread catalogue: list, rename, search, delete and export the conversations the checkpointer keeps."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from langgraph.checkpoint.sqlite import SqliteSaver

from agents.conversations.checkpoints import CheckpointRefused
from tools.errors import ConfigError

TITLE_CHARS = 60
EXPORT_VERSION = 1
_SPACE = re.compile(r"\s+")
_SCHEMA = ("CREATE TABLE IF NOT EXISTS deskmate_threads "
           "(thread_id TEXT PRIMARY KEY, title TEXT, created REAL, updated REAL)")
# A thread whose stored state was refused moves here, out of the checkpointer's sight; nothing is deleted.
_SET_ASIDE = ("CREATE TABLE IF NOT EXISTS deskmate_set_aside (thread_id TEXT, reason TEXT, at REAL)",
              "CREATE TABLE IF NOT EXISTS deskmate_set_aside_checkpoints AS SELECT * FROM checkpoints WHERE 0",
              "CREATE TABLE IF NOT EXISTS deskmate_set_aside_writes AS SELECT * FROM writes WHERE 0")


@dataclass(frozen=True, slots=True)
class ThreadSummary:
    """One line of the thread list: ``updated`` is seconds since the epoch."""

    thread_id: str
    title: str
    turns: int
    updated: float


@dataclass(frozen=True, slots=True)
class TurnRecord:
    """One question and its answer; ``mode`` and ``citations`` are kept for the thread's last turn only."""

    question: str
    answer: str
    mode: str | None = None
    citations: list[dict[str, Any]] = field(default_factory=list)


def _one_line(text: str) -> str:
    return _SPACE.sub(" ", text).strip()


def default_title(question: str) -> str:
    """A thread's title before the user names it: its first question on one line, at most 60 characters."""
    line = _one_line(question)
    return line if len(line) <= TITLE_CHARS else line[: TITLE_CHARS - 1].rstrip() + "…"


def _text(message: BaseMessage) -> str:
    return str(message.text)


def _turns(values: dict[str, Any]) -> list[TurnRecord]:
    pairs: list[tuple[str, str]] = []
    for message in values.get("messages", []):
        if isinstance(message, HumanMessage):
            pairs.append((_text(message), ""))
        elif isinstance(message, AIMessage) and pairs:
            pairs[-1] = (pairs[-1][0], _text(message))
    turns = [TurnRecord(q, a) for q, a in pairs]
    if turns:
        mode = values.get("mode")
        citations = values.get("citations") or []
        turns[-1] = TurnRecord(turns[-1].question, turns[-1].answer, mode if isinstance(mode, str) else None,
                               [dict(c) for c in citations if isinstance(c, dict)])
    return turns


def _iso(stamp: float | None) -> str | None:
    return None if stamp is None else datetime.fromtimestamp(stamp, UTC).isoformat(timespec="seconds")


def _where(citation: dict[str, Any]) -> str:
    place = str(citation.get("path", "?"))
    if citation.get("page") is not None:
        place += f" p.{citation['page']}"
    start, end = citation.get("line_start"), citation.get("line_end")
    if start is not None:
        place += f":{start}" + (f"-{end}" if end is not None and end != start else "")
    return place


@dataclass(frozen=True, slots=True)
class _Thread:
    thread_id: str
    title: str
    created: float | None
    updated: float
    turns: list[TurnRecord]

    def summary(self) -> ThreadSummary:
        return ThreadSummary(self.thread_id, self.title, len(self.turns), self.updated)


class ThreadStore:
    """The user's threads: conversation state read through the checkpointer, titles and times in a side table.

    The side table ``deskmate_threads`` lives in the checkpointer's database; the checkpointer's own tables are only
    read (to find thread ids) and are changed only through ``saver.delete_thread`` and ``_set_aside``. A thread whose
    checkpoint is refused on load (agents/conversations/checkpoints.py) is set aside instead of failing every
    thread command; what happened is added to ``notices`` for the user.
    """

    def __init__(self, saver: SqliteSaver, notices: list[str] | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self._saver = saver
        self._clock = clock  # epoch seconds for created/updated; tests pass a fake one
        self.notices = notices if notices is not None else []
        with saver.cursor() as cur:
            cur.execute(_SCHEMA)

    def _row(self, thread_id: str) -> tuple[str | None, float | None, float | None] | None:
        with self._saver.cursor(transaction=False) as cur:
            cur.execute("SELECT title, created, updated FROM deskmate_threads WHERE thread_id = ?", (thread_id,))
            row = cur.fetchone()
        return None if row is None else (row[0], row[1], row[2])

    def _ids(self) -> list[str]:
        # Thread ids only: reading the key column spares deserialising every checkpoint, as saver.list(None) would.
        with self._saver.cursor(transaction=False) as cur:
            cur.execute("SELECT DISTINCT thread_id FROM checkpoints WHERE checkpoint_ns = ''")
            return [str(row[0]) for row in cur.fetchall()]

    def _set_aside(self, thread_id: str, reason: str) -> None:
        with self._saver.cursor() as cur:
            for statement in _SET_ASIDE:
                cur.execute(statement)
            cur.execute("INSERT INTO deskmate_set_aside VALUES (?, ?, ?)", (thread_id, reason, self._clock()))
            for table in ("checkpoints", "writes"):
                cur.execute(f"INSERT INTO deskmate_set_aside_{table} SELECT * FROM {table} WHERE thread_id = ?",
                            (thread_id,))
                cur.execute(f"DELETE FROM {table} WHERE thread_id = ?", (thread_id,))
        self.notices.append(f"thread {thread_id!r} was set aside and is not shown: {reason}")

    def _find(self, thread_id: str) -> _Thread | None:
        try:
            found = self._saver.get_tuple({"configurable": {"thread_id": thread_id}})
        except CheckpointRefused as exc:
            self._set_aside(thread_id, str(exc))
            return None
        if found is None:
            return None
        checkpoint = found.checkpoint
        turns = _turns(dict(checkpoint.get("channel_values", {})))
        saved = datetime.fromisoformat(checkpoint["ts"]).timestamp()
        title, created, updated = self._row(thread_id) or (None, None, None)
        title = title or (default_title(turns[0].question) if turns else thread_id)
        return _Thread(thread_id, title, created, max(saved, updated or 0.0), turns)

    def require(self, thread_id: str) -> None:
        """Raise ConfigError unless ``thread_id`` is a thread (``--thread`` must not start one by that name)."""
        self._get(thread_id)

    def _get(self, thread_id: str) -> _Thread:
        thread = self._find(thread_id)
        if thread is None:
            raise ConfigError(f"no thread {thread_id!r}: list the threads to see their ids")
        return thread

    def _all(self) -> list[_Thread]:
        threads = [t for t in (self._find(i) for i in self._ids()) if t is not None]
        return sorted(threads, key=lambda t: (-t.updated, t.thread_id))

    def touch(self, thread_id: str, question: str) -> None:
        """Record a finished turn: the thread's created/updated times and, on its first turn, its default title."""
        now = self._clock()
        if self._row(thread_id) is None:
            # A thread begun before the catalogue existed is still named after its first question.
            thread = self._find(thread_id)
            first = thread.turns[0].question if thread and thread.turns else question
            with self._saver.cursor() as cur:
                cur.execute("INSERT OR IGNORE INTO deskmate_threads VALUES (?, ?, ?, ?)",
                            (thread_id, default_title(first), now, now))
        with self._saver.cursor() as cur:
            cur.execute("UPDATE deskmate_threads SET updated = ?, created = COALESCE(created, ?) WHERE thread_id = ?",
                        (now, now, thread_id))

    def messages(self, thread_id: str) -> list[TurnRecord]:
        """The thread's turns in order; the last one carries its mode and citations."""
        return self._get(thread_id).turns

    def rename(self, thread_id: str, title: str) -> None:
        """Give a thread a title of the user's choosing."""
        title = _one_line(title)
        if not title:
            raise ConfigError("a thread title cannot be empty")
        self._get(thread_id)
        with self._saver.cursor() as cur:
            cur.execute("INSERT INTO deskmate_threads (thread_id, title) VALUES (?, ?) "
                        "ON CONFLICT(thread_id) DO UPDATE SET title = excluded.title", (thread_id, title))

    def search(self, text: str) -> list[ThreadSummary]:
        """The threads whose title, questions or answers contain ``text`` (ignoring case), newest first."""
        needle = text.casefold()
        return [t.summary() for t in self._all()
                if needle in t.title.casefold()
                or any(needle in turn.question.casefold() or needle in turn.answer.casefold() for turn in t.turns)]

    def delete(self, thread_id: str) -> bool:
        """Delete a thread's checkpoints and catalogue entry; False when there was no such thread."""
        existed = self._find(thread_id) is not None or self._row(thread_id) is not None
        self._saver.delete_thread(thread_id)
        with self._saver.cursor() as cur:
            cur.execute("DELETE FROM deskmate_threads WHERE thread_id = ?", (thread_id,))
        return existed

    def export_json(self, thread_id: str) -> dict[str, Any]:
        """The thread as plain JSON-ready data: its title, times (ISO 8601, UTC) and turns."""
        thread = self._get(thread_id)
        return {"version": EXPORT_VERSION, "thread_id": thread.thread_id, "title": thread.title,
                "created": _iso(thread.created), "updated": _iso(thread.updated),
                "turns": [asdict(turn) for turn in thread.turns]}

    def export_markdown(self, thread_id: str) -> str:
        """The thread as a Markdown document: a heading per turn, the question, the answer and its sources."""
        thread = self._get(thread_id)
        lines = [f"# {thread.title}", "", f"- Thread: `{thread.thread_id}`"]
        if thread.created is not None:
            lines.append(f"- Created: {_iso(thread.created)}")
        lines += [f"- Updated: {_iso(thread.updated)}", f"- Turns: {len(thread.turns)}", ""]
        for n, turn in enumerate(thread.turns, 1):
            lines += [f"## Turn {n}", "", "**Question**", "", turn.question, "", "**Answer**", "",
                      turn.answer or "_(no answer)_", ""]
            if turn.mode:
                lines += [f"_Answered in {turn.mode} mode._", ""]
            if turn.citations:
                lines += ["**Sources**", ""]
                lines += [f"- {_where(c)}: “{_one_line(str(c.get('quote', '')))}”" for c in turn.citations]
                lines.append("")
        return "\n".join(lines).rstrip() + "\n"

    # Last in the class: a method named ``list`` would shadow the builtin in the annotations below it.
    def list(self) -> list[ThreadSummary]:
        """Every thread, newest first."""
        return [t.summary() for t in self._all()]

"""Conversation threads on disk: LangGraph's SQLite checkpointer, made durable, safe to load and recoverable.

``threads.sqlite3`` is a file any program of the user's can write, so what is read back from it is untrusted. The
serializer is built explicitly (never from ``LANGGRAPH_STRICT_MSGPACK``, which langgraph reads once at import): only
the value types Deskmate stores may be revived, a row naming anything else is refused with ``CheckpointRefused``
before anything it names is called, and ``pickle``/``json`` rows are refused outright. A file that is not a sound
SQLite database is moved aside with a timestamp and a fresh one is started (tools/dbfile.py).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from langchain_core.messages import AIMessage, HumanMessage, RemoveMessage, SystemMessage, ToolMessage
from langgraph.checkpoint.serde.event_hooks import SerdeEvent, register_serde_event_listener
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.types import Command, Interrupt, Send

from tools.dbfile import set_aside_if_damaged
from tools.errors import DeskmateError

# What Deskmate's graph state holds besides plain data (see AskState in agents/graph.py): the conversation's
# messages and LangGraph's own control values (an interrupt waiting for an approval, a resume command).
STORED_TYPES: tuple[type, ...] = (HumanMessage, AIMessage, SystemMessage, ToolMessage, RemoveMessage,
                                  Interrupt, Command, Send)
# Rows of these kinds carry no code: raw bytes, and msgpack whose extension types pass the allow-list above.
_LOADABLE = ("null", "bytes", "bytearray", "msgpack")


class CheckpointRefused(DeskmateError):
    """A stored conversation holds a value Deskmate never writes (a tampered or foreign file): it is not loaded."""


class _Blocked(threading.local):
    names: list[str] | None = None


_blocked = _Blocked()


def _on_serde_event(event: SerdeEvent) -> None:
    # langgraph reports each extension type its allow-list refused; it then returns the raw arguments instead of
    # calling anything. Deskmate turns that quiet fallback into a refusal of the whole row.
    if event["kind"].endswith("blocked") and _blocked.names is not None:
        _blocked.names.append(".".join(filter(None, (event["module"], event["name"], event.get("method")))))


register_serde_event_listener(_on_serde_event)


@contextmanager
def _watch_refusals() -> Iterator[list[str]]:
    outer, _blocked.names = _blocked.names, []
    try:
        yield _blocked.names
    finally:
        _blocked.names = outer


class _StrictSerializer(JsonPlusSerializer):
    """LangGraph's serializer with Deskmate's allow-list, refusing loudly what it would otherwise skip quietly."""

    def loads_typed(self, data: tuple[str, bytes]) -> Any:
        kind = data[0]
        if kind not in _LOADABLE:
            raise CheckpointRefused(f"a stored value of type {kind!r} was refused: Deskmate never writes that type")
        with _watch_refusals() as refused:
            value = super().loads_typed(data)
        if refused:
            raise CheckpointRefused(f"a stored value names {', '.join(sorted(set(refused)))}, which Deskmate never "
                                    "stores, so it was not loaded")
        return value


def serializer() -> JsonPlusSerializer:
    """The serializer for Deskmate's checkpoints: only ``STORED_TYPES`` (and langgraph's inert basics) revive."""
    return _StrictSerializer(pickle_fallback=False, allowed_json_modules=None, allowed_msgpack_modules=STORED_TYPES)


def open_checkpointer(path: Path, notices: list[str] | None = None) -> SqliteSaver:
    """A checkpointer on ``path``: WAL with synchronous=FULL, so a finished turn survives a crash or power loss.

    A damaged file is set aside first (``set_aside_if_damaged``); its notice is appended to ``notices`` for the user.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    notice = set_aside_if_damaged(path)
    if notice and notices is not None:
        notices.append(notice)
    conn = sqlite3.connect(str(path), check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    saver = SqliteSaver(conn, serde=serializer())
    saver.setup()
    return saver

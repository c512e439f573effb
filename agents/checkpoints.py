"""Conversation threads on disk: LangGraph's SQLite checkpointer, made durable and safe to load."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from langgraph.checkpoint.sqlite import SqliteSaver


def open_checkpointer(path: Path) -> SqliteSaver:
    """A checkpointer on ``path``: WAL with synchronous=FULL, so a finished turn survives a crash or power loss."""
    # Only known types may be revived from a checkpoint: a tampered file cannot make the loader run code.
    os.environ.setdefault("LANGGRAPH_STRICT_MSGPACK", "true")
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(str(path), check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    saver = SqliteSaver(conn)
    saver.setup()
    return saver

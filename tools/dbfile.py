"""SQLite files Deskmate keeps (threads, cache, traces): a damaged one is set aside with a timestamp, never lost."""

from __future__ import annotations

import logging
import sqlite3
import time
from pathlib import Path

log = logging.getLogger(__name__)


def is_sound(path: Path) -> bool:
    """True when ``path`` opens as an SQLite database and passes ``PRAGMA quick_check``."""
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            return bool(conn.execute("PRAGMA quick_check").fetchone() == ("ok",))
        finally:
            conn.close()
    except sqlite3.DatabaseError:
        return False


def set_aside_if_damaged(path: Path) -> str | None:
    """Move a damaged database to ``NAME.damaged-YYYYmmdd-HHMMSS`` (with its WAL) so a fresh one can start.

    Returns the notice for the user, or None when the file is sound or absent.
    """
    if not path.is_file() or is_sound(path):
        return None
    kept = path.with_name(f"{path.name}.damaged-{time.strftime('%Y%m%d-%H%M%S')}")
    for suffix in ("", "-wal", "-shm"):
        part = path.with_name(path.name + suffix)
        if part.exists():
            part.replace(kept.with_name(kept.name + suffix))
    notice = f"{path.name} was damaged; it was set aside as {kept.name} and a fresh one was started"
    log.warning(notice)
    return notice

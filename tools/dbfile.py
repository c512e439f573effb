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


def set_aside(path: Path) -> Path:
    """Rename a database (and its WAL files) to ``NAME.damaged-YYYYmmdd-HHMMSS``; returns the new path.

    Kept, not deleted: it is the only evidence of what went wrong, and what it still holds may be wanted back.
    """
    stamp = time.strftime("%Y%m%d-%H%M%S")
    aside = path.with_name(f"{path.name}.damaged-{stamp}")
    n = 1
    while aside.exists():
        n += 1
        aside = path.with_name(f"{path.name}.damaged-{stamp}-{n}")
    for suffix in ("-wal", "-shm", ""):  # the database last: without it the others are just stray files
        part = Path(f"{path}{suffix}")
        if part.exists():
            part.replace(f"{aside}{suffix}")
    return aside


def set_aside_if_damaged(path: Path) -> str | None:
    """Set a damaged database aside (``set_aside``) so a fresh one can start.

    Returns the notice for the user, or None when the file is sound or absent.
    """
    if not path.is_file() or is_sound(path):
        return None
    kept = set_aside(path)
    notice = f"{path.name} was damaged; it was set aside as {kept.name} and a fresh one was started"
    log.warning(notice)
    return notice

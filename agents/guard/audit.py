"""The audit log: one JSON line per side-effecting action the agent ran, was denied, or was refused by policy.

The file (``data_dir/audit.jsonl``) is only ever appended to: each entry is one ``write`` on a descriptor opened with
O_APPEND and synced to disk before the action goes ahead, so a crash loses no entry and no entry is ever rewritten.
Long argument values are cut (a note's text is kept to its first 200 characters) so the log stays readable; secrets
(API keys, tokens, passwords) are masked as in traces and logs (agents/guard/redaction.py).

Each entry carries the model's tool call id (``call``): the log is also the ledger that makes a decided call run at
most once (agents/toolset.py), since the entry is on disk before the action starts.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections import deque
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

from agents.guard.redaction import redact

VALUE_CHARS = 200

Decision = Literal["allowed", "denied", "refused"]
DecidedBy = Literal["user", "policy"]


@dataclass(frozen=True, slots=True)
class AuditEntry:
    time: str  # ISO 8601, UTC
    thread: str | None
    tool: str
    arguments: dict[str, Any]
    decision: Decision
    decided_by: DecidedBy
    reason: str
    call: str | None = None  # the tool call id; None in entries written before it was recorded

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _short(value: Any) -> Any:
    """``value`` with secrets masked (as traces and logs mask them) and long strings cut, masked before the cut."""
    if isinstance(value, str):
        value = redact(value).text
    if isinstance(value, str) and len(value) > VALUE_CHARS:
        return f"{value[:VALUE_CHARS]}... ({len(value)} characters)"
    if isinstance(value, dict):
        return {str(k): _short(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_short(v) for v in value]
    return value


class AuditLog:
    """Appends entries to one JSON Lines file and reads the latest back; safe to share between threads."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def record(self, thread: str | None, tool: str, arguments: dict[str, Any], decision: Decision,
               decided_by: DecidedBy, reason: str, call: str | None = None) -> AuditEntry:
        """Append one entry (the time is now) and return it."""
        entry = AuditEntry(time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), thread, tool, _short(arguments),
                           decision, decided_by, redact(reason).text, call)
        self.append(entry)
        return entry

    def append(self, entry: AuditEntry) -> None:
        line = (json.dumps(entry.as_dict(), ensure_ascii=False, default=str) + "\n").encode("utf-8")
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, line)
                os.fsync(fd)
            finally:
                os.close(fd)

    def decided(self, call: str) -> AuditEntry | None:
        """The entry already written for tool call ``call``, or None (the file is read; decisions are rare)."""
        if not self.path.exists():
            return None
        needle = json.dumps(call)
        with self.path.open(encoding="utf-8", errors="replace") as handle:
            for line in handle:
                if needle not in line:  # a substring test first: most lines are other calls
                    continue
                try:
                    entry = AuditEntry(**json.loads(line))
                except (ValueError, TypeError):
                    continue
                if entry.call == call:
                    return entry
        return None

    def read(self, limit: int | None = None) -> list[AuditEntry]:
        """The last ``limit`` entries (all without a limit), oldest first; lines that do not parse are skipped."""
        if not self.path.exists():
            return []
        rows: deque[AuditEntry] = deque(maxlen=limit if limit and limit > 0 else None)
        with self.path.open(encoding="utf-8", errors="replace") as handle:
            for line in handle:
                try:
                    rows.append(AuditEntry(**json.loads(line)))
                except (ValueError, TypeError):
                    continue  # a line cut short by a full disk: the rest of the log still reads
        return list(rows)

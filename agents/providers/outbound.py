"""What leaves the machine: the redaction policy for remote providers and the log of the payloads they were sent.

Kept free of LangChain imports (the message-level redaction lives at the boundary, in openai_compat.py), so the
settings and the trace store can use these types cheaply. Local models get none of this: nothing leaves the machine.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from agents.guard.redaction import Redacted, redact, redact_known

KnownSecrets = Callable[[], Iterable[str]]


@dataclass(frozen=True, slots=True)
class OutboundPolicy:
    """Secrets are always redacted before a remote request; PII only with ``pii``. ``keep`` payloads are logged."""

    pii: bool = False
    keep: int = 8  # the last N payloads kept (after redaction) for the turn's trace
    chars: int = 2000  # per message in the log: what the trace shows, not what was sent


@dataclass(frozen=True, slots=True)
class SentPayload:
    """One request to a remote model, as sent (after redaction), with what redaction changed."""

    model: str
    at: float  # epoch seconds
    messages: list[dict[str, Any]]
    redactions: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"model": self.model, "at": self.at, "messages": self.messages, "redactions": self.redactions}


class SentLog:
    """The last ``keep`` payloads sent to remote models, shared by every remote model of a registry (thread-safe)."""

    def __init__(self, keep: int = 8) -> None:
        self._items: deque[SentPayload] = deque(maxlen=max(1, keep))
        self._lock = threading.Lock()

    def add(self, payload: SentPayload) -> None:
        with self._lock:
            self._items.append(payload)

    def since(self, started: float) -> list[SentPayload]:
        """The payloads sent at or after ``started`` (epoch seconds): one turn's, when given the turn's start."""
        with self._lock:
            return [p for p in self._items if p.at >= started]

    def recent(self) -> list[SentPayload]:
        with self._lock:
            return list(self._items)


class Outbound:
    """The redaction a remote model applies to each text it sends, and the log it records the result in."""

    def __init__(self, policy: OutboundPolicy | None = None, log: SentLog | None = None,
                 known: KnownSecrets = lambda: ()) -> None:
        self.policy = policy or OutboundPolicy()
        self.log = log if log is not None else SentLog(self.policy.keep)
        self._known = known

    def redact(self, text: str) -> Redacted:
        """Known secret values first (the keys in use), then secret shapes, then PII when the policy says so."""
        known = redact_known(text, self._known())
        shaped = redact(known.text, pii=self.policy.pii)
        return Redacted(shaped.text, [*known.findings, *shaped.findings]) if known.findings else shaped

    def record(self, model: str, messages: list[dict[str, Any]], redactions: dict[str, int]) -> None:
        limit = self.policy.chars
        cut = [{**m, "content": _cut(m.get("content"), limit)} for m in messages]
        self.log.add(SentPayload(model, time.time(), cut, redactions))


def _cut(content: Any, limit: int) -> Any:
    if isinstance(content, str) and len(content) > limit:
        return content[:limit] + f" ... [{len(content) - limit} more characters]"
    if isinstance(content, list):
        return [{**p, "text": _cut(p.get("text"), limit)} if isinstance(p, dict) else p for p in content]
    return content

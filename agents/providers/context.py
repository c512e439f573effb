"""Fitting a conversation into a model's context window: drop the oldest turns, then trim the longest message.

The system message and the newest message always survive; whatever is cut is reported, never silently lost.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

Message = dict[str, str]
OMITTED = "\n[... {n} tokens omitted to fit the model's context ...]\n"
MIN_ANSWER_TOKENS = 16


@dataclass(frozen=True, slots=True)
class Fitted:
    prompt: str
    prompt_ids: list[int]
    max_new_tokens: int
    dropped_messages: int = 0
    trimmed_tokens: int = 0


@dataclass(frozen=True, slots=True)
class Tokenizer:
    """What fitting needs from a model: render messages to a prompt, and count/cut tokens."""

    render: Callable[[list[Message]], str]
    encode: Callable[[str], list[int]]
    decode: Callable[[list[int]], str]


def fit(messages: list[Message], tok: Tokenizer, context_length: int, max_new_tokens: int) -> Fitted:
    """Fit ``messages`` plus an answer of up to ``max_new_tokens`` into ``context_length`` tokens."""
    # Keep at least a short answer's room, and never more than half the window for the answer when input is long.
    answer = max(MIN_ANSWER_TOKENS, min(max_new_tokens, context_length // 2))
    budget = context_length - answer
    work = [dict(m) for m in messages]
    ids = tok.encode(tok.render(work))
    if len(ids) + max_new_tokens <= context_length:
        return Fitted(tok.render(work), ids, max_new_tokens)

    dropped = 0
    while len(ids) > budget:
        droppable = [i for i, m in enumerate(work[:-1]) if m["role"] != "system"]
        if not droppable:
            break
        del work[droppable[0]]
        dropped += 1
        ids = tok.encode(tok.render(work))

    trimmed = 0
    for _ in range(4):  # the template's own tokens make the count approximate; converge in a few rounds
        overflow = len(ids) - budget
        if overflow <= 0:
            break
        target = max(range(len(work)), key=lambda i: len(work[i]["content"]))
        cut = _trim_middle(work[target]["content"], overflow + 8, tok)
        if cut is None:
            break
        work[target]["content"], removed = cut
        trimmed += removed
        ids = tok.encode(tok.render(work))

    room = max(MIN_ANSWER_TOKENS, min(max_new_tokens, context_length - len(ids)))
    if (
        len(ids) + room > context_length
    ):  # a prompt made of almost nothing but template: cut raw tokens as a last resort
        keep = context_length - room
        trimmed += len(ids) - keep
        ids = ids[len(ids) - keep :]
        return Fitted(tok.decode(ids), ids, room, dropped, trimmed)
    return Fitted(tok.render(work), ids, room, dropped, trimmed)


def _trim_middle(text: str, remove: int, tok: Tokenizer) -> tuple[str, int] | None:
    """Cut ``remove`` tokens (plus the marker's) out of the middle of ``text``, keeping its start and its end."""
    ids = tok.encode(text)
    marker_cost = len(tok.encode(OMITTED.format(n=len(ids))))
    remove += marker_cost
    if remove >= len(ids):
        if not ids:
            return None
        return OMITTED.format(n=len(ids)).strip(), len(ids)
    keep = len(ids) - remove
    head, tail = ids[: (keep + 1) // 2], ids[len(ids) - keep // 2 :]
    return tok.decode(head) + OMITTED.format(n=remove) + tok.decode(tail), remove

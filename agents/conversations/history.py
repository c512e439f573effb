"""A thread's earlier turns for a model call: the newest verbatim, older ones summarised, all within a token budget.

``turns_of`` reads the question/answer pairs out of a LangGraph thread's ``messages``; ``budgeted_history`` turns them
into the messages a model call gets. Tokens are counted with the caller's ``count_tokens`` (the model's own tokenizer),
one message's content at a time, and ``History.tokens`` is the sum: that sum never exceeds the budget.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage

SUMMARY_HEADING = "Earlier in this conversation (summary): "
EXTRACT_CHARS = 400  # a source extract kept verbatim is cut to about this many characters
GIST_CHARS = 200  # a digest keeps at most this much of each question and of each answer's gist
QUOTE_WORDS = 8  # a quoted source line is reduced to its first words
MIN_DIGEST_CHARS = 40  # a digest trimmed shorter than this is left out
SUMMARY_SHARE = 8  # with older turns to summarise, budget // 8 is left to their summary (and its heading) if possible
_SPACE = re.compile(r"\s+")
_MARKER = re.compile(r"\s*\[\d{1,4}\]$")  # the " [2]" between a quote and its place
_PLACE = re.compile(r"(?: p\.\d{1,6})?(?::\d{1,9}(?:-\d{1,9})?)?$")  # the " p.3" or ":12-14" after a path
_SENTENCE_END = re.compile(r"[.!?](?=\s|$)")
_BULLET = ("- ", "* ", "• ")


@dataclass(frozen=True, slots=True)
class Turn:
    """One earlier question and its answer; ``sources`` are the paths the answer cited, when known."""

    question: str
    answer: str
    sources: tuple[str, ...] = ()


@dataclass(frozen=True)
class History:
    """The messages to put before the current question, and how they were made.

    ``verbatim`` turns are given as they were (a long source extract shortened), ``summarised`` older turns are in
    the one leading summary message, written by the model, by ``digest``, or absent (``summary_by="none"``).
    """

    messages: list[BaseMessage]
    verbatim: int
    summarised: int
    tokens: int
    summary_by: Literal["none", "digest", "model"]


def _one_line(text: str) -> str:
    return _SPACE.sub(" ", text).strip()


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: max(0, limit - 1)].rstrip() + "…"


def _source_line(line: str) -> tuple[str, str] | None:
    """``- "quote" [1] (path p.3)`` or ``- sentence (path)``: the quote and the path, else None."""
    stripped = line.strip()
    if not stripped.startswith(_BULLET) or not stripped.endswith(")"):
        return None
    opening = stripped.rfind(" (")
    if opening < 2:
        return None
    place = stripped[opening + 2 : -1]
    quote = _MARKER.sub("", stripped[2:opening]).strip().strip('"“”').strip()
    return (quote, place) if quote and place and "\n" not in place else None


def _path_of(place: str) -> str:
    return _PLACE.sub("", place.strip()) if len(place) <= 1000 else ""


def _text(message: BaseMessage) -> str:
    try:
        return str(message.text)
    except Exception:  # content of an unexpected shape: the turn is still read, with what can be read
        return message.content if isinstance(message.content, str) else ""


def _sources_of(message: AIMessage, answer: str) -> tuple[str, ...]:
    """The paths an answer cited: from its metadata when the graph stored them, else from its source lines."""
    found: list[str] = []
    extra: dict[str, Any] = message.additional_kwargs or {}
    for item in extra.get("sources") or extra.get("citations") or []:
        path = item.get("path") if isinstance(item, dict) else item
        if isinstance(path, str) and path:
            found.append(path)
    if not found:
        for line in answer.splitlines()[:200]:
            parsed = _source_line(line[:2000])
            if parsed and (path := _path_of(parsed[1])):
                found.append(path)
    return tuple(dict.fromkeys(found))


def turns_of(messages: Sequence[BaseMessage]) -> list[Turn]:
    """The question/answer pairs of a thread, oldest first.

    A question with no answer after it becomes a turn with an empty answer, unless it is the last message (the
    question being asked now); an answer with no question before it joins the previous turn's answer (or stands
    alone with an empty question); system and tool messages, and a model's tool-calling steps, are skipped.
    """
    turns: list[Turn] = []
    pending: str | None = None
    for message in messages:
        if isinstance(message, HumanMessage):
            if pending is not None:
                turns.append(Turn(pending, ""))
            pending = _text(message)
        elif isinstance(message, AIMessage):
            answer = _text(message)
            if message.tool_calls and not answer.strip():
                continue
            if pending is not None:
                turns.append(Turn(pending, answer, _sources_of(message, answer)))
                pending = None
            elif turns:
                last = turns[-1]
                joined = f"{last.answer}\n{answer}" if last.answer else answer
                sources = tuple(dict.fromkeys(last.sources + _sources_of(message, answer)))
                turns[-1] = Turn(last.question, joined, sources)
            else:
                turns.append(Turn("", answer, _sources_of(message, answer)))
    return turns


def _gist(answer: str) -> str:
    """An answer's first sentence; a quoted source list counts as the first words of its first quote."""
    prose: list[str] = []
    quotes: list[str] = []
    for line in answer[:20_000].splitlines():
        parsed = _source_line(line[:2000])
        if parsed:
            words = parsed[0].split()
            quotes.append('"' + " ".join(words[:QUOTE_WORDS]) + ('…"' if len(words) > QUOTE_WORDS else '"'))
        elif line.strip():
            prose.append(line.strip())
    text = _one_line(" ".join(prose))
    end = _SENTENCE_END.search(text, 0, 4 * GIST_CHARS)
    sentence = text[: end.end()] if end else text
    if quotes and (not sentence or sentence.endswith(":")):
        sentence = f"{sentence} {quotes[0]}".strip()
    return _clip(sentence, GIST_CHARS)


def digest(turns: Sequence[Turn], max_chars: int = 600) -> str:
    """An extractive digest of ``turns``: each question and the first sentence of its answer, one line a turn.

    The newest turns are kept when they do not all fit in ``max_chars``; the result is never longer than that.
    """
    if max_chars <= 0 or not turns:
        return ""
    lines: list[str] = []
    used = 0
    for turn in reversed(turns):
        question = _clip(_one_line(turn.question[: 4 * GIST_CHARS]), GIST_CHARS) or "(no question)"
        line = f"Q: {question} A: {_gist(turn.answer) or '(no answer)'}"
        if used + len(line) + 1 > max_chars and lines:
            break
        lines.append(line)
        used += len(line) + 1
    while len(lines) < len(turns):  # say how many turns are left out, in place of the oldest kept ones if need be
        left_out = len(turns) - len(lines)
        note = f"({left_out} earlier turn{'s' if left_out > 1 else ''} left out)"
        if used + len(note) <= max_chars or len(lines) == 1:
            lines.append(note)
            break
        used -= len(lines.pop()) + 1
    return _clip("\n".join(reversed(lines)), max_chars)


def _shorten(answer: str) -> str:
    """A long answer that quotes its sources, cut to about its first EXTRACT_CHARS characters."""
    if len(answer) <= EXTRACT_CHARS or not any(_source_line(line[:2000]) for line in answer[:20_000].splitlines()):
        return answer
    cut = answer.rfind("\n", 0, EXTRACT_CHARS)
    if cut < EXTRACT_CHARS // 2:
        cut = answer.rfind(" ", 0, EXTRACT_CHARS)
    return answer[: cut if cut > 0 else EXTRACT_CHARS].rstrip() + " …"


def _largest(limit: int, make: Callable[[int], str], count: Callable[[str], int], top: int, low: int = 1) -> str:
    """The text ``make(n)`` for the largest ``n`` in low..top whose count is within ``limit``; "" when none is."""
    best, high = "", top
    while low <= high:
        middle = (low + high) // 2
        candidate = make(middle)
        if count(candidate) <= limit:
            best, low = candidate, middle + 1
        else:
            high = middle - 1
    return best


def _fit_middle(text: str, count: Callable[[str], int], limit: int) -> str:
    """``text`` within ``limit`` tokens: whole if it fits, else its start and end around " ... "."""
    if count(text) <= limit:
        return text
    if limit <= 0:
        return ""

    def cut(kept: int) -> str:
        head = text[: kept - kept // 2].rstrip()
        tail = text[len(text) - kept // 2 :].lstrip() if kept // 2 else ""
        return f"{head} ... {tail}".strip()

    return _largest(limit, cut, count, len(text) - 1)


def _fit_head(text: str, count: Callable[[str], int], limit: int) -> str:
    """``text`` within ``limit`` tokens: whole if it fits, else its start and "…"."""
    if count(text) <= limit:
        return text
    return _largest(limit, lambda kept: text[:kept].rstrip() + "…", count, len(text) - 1)


def _pair(turn: Turn) -> tuple[str, str]:
    return turn.question or "(no question)", _shorten(turn.answer) or "(no answer)"


def _summary(
    older: Sequence[Turn],
    count: Callable[[str], int],
    limit: int,
    summarise: Callable[[Sequence[Turn]], str] | None,
) -> tuple[str, Literal["none", "digest", "model"]]:
    """The summary message's text within ``limit`` tokens, and who wrote it."""
    written = ""
    if summarise is not None:
        try:
            reply = summarise(older)
            written = reply.strip() if isinstance(reply, str) else ""
        except Exception:  # a failed summary model is not a failed turn: the digest stands in for it
            written = ""
    if written:
        text = _fit_head(SUMMARY_HEADING + written, count, limit)
        if len(text) > len(SUMMARY_HEADING) + 1:
            return text, "model"
    whole = digest(older)
    # A digest cut below a few dozen characters says nothing: then there is no summary at all.
    shortest = min(MIN_DIGEST_CHARS, len(whole))
    text = _largest(limit, lambda chars: SUMMARY_HEADING + digest(older, chars), count, len(whole), shortest)
    return (text, "digest") if text else ("", "none")


def budgeted_history(
    turns: Sequence[Turn],
    count_tokens: Callable[[str], int],
    budget: int,
    summarise: Callable[[Sequence[Turn]], str] | None = None,
) -> History:
    """The earlier turns as messages within ``budget`` tokens: one summary of the older turns, then the newest ones.

    As many of the newest turns as fit go verbatim, oldest first, as (HumanMessage, AIMessage) pairs; an answer that
    is a long source extract is shortened first. When even the newest turn does not fit, it is cut in the middle
    (" ... ") to fit. All older turns go into ONE leading SystemMessage written by ``summarise`` when given (the
    digest when it fails or returns nothing), else by ``digest``, trimmed to the tokens left; one verbatim turn
    gives way to the summary when the verbatim turns leave it less than a small share of the budget.
    """
    if budget <= 0 or not turns:
        return History([], 0, 0, 0, "none")
    kept: list[tuple[str, str]] = []
    costs: list[int] = []
    used = 0
    for turn in reversed(turns):
        question, answer = _pair(turn)
        cost = count_tokens(question) + count_tokens(answer)
        if used + cost > budget:
            break
        kept.append((question, answer))
        costs.append(cost)
        used += cost
    if not kept:
        question, answer = _pair(turns[-1])
        question = _fit_middle(question, count_tokens, max(budget // 2, budget - count_tokens(answer)))
        answer = _fit_middle(answer, count_tokens, budget - count_tokens(question))
        if question or answer:
            kept, costs = [(question, answer)], [count_tokens(question) + count_tokens(answer)]
            used = costs[0]
    room = budget // SUMMARY_SHARE + count_tokens(SUMMARY_HEADING)
    while len(kept) > 1 and len(kept) < len(turns) and budget - used < room:
        kept.pop()
        used -= costs.pop()
    older = turns[: len(turns) - len(kept)]
    messages: list[BaseMessage] = []
    summary_by: Literal["none", "digest", "model"] = "none"
    if older:
        text, summary_by = _summary(older, count_tokens, budget - used, summarise)
        if text:
            messages.append(SystemMessage(text))
    for question, answer in reversed(kept):
        messages += [HumanMessage(question), AIMessage(answer)]
    tokens = sum(count_tokens(_text(message)) for message in messages)
    return History(messages, len(kept), len(older) if summary_by != "none" else 0, tokens, summary_by)

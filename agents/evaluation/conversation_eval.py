"""Conversation evaluation: multi-turn threads (follow-ups, general requests, actions, scoped and counting turns).

A conversation set is a folder with ``docs/`` and ``conversations.jsonl``, one conversation per line: ``id``,
``title`` and ``turns``, each turn ``question``, ``kind`` (one of KINDS), optionally ``scope`` (a scope as typed,
``folder:budgets``, its folders and files relative to ``docs/``; the thread keeps it for the turns after), ``action``,
``arg`` and ``selection`` (an action on selected text), and ``expect``: ``route``, ``source`` (the file, relative to
``docs/``, a right answer cites, or null), ``not_source`` (its look-alike, which a right answer never cites),
``answer_contains`` (any of these strings, case-insensitive; empty: any non-empty answer), ``mode`` (optional) and
``no_model`` (the same fields, overriding the others when the run has no model).

Every conversation runs through a Runner in its own thread, turns in order. Per turn: answered right (an expected
string in the answer, the expected source cited and the look-alike not, nothing cited outside the thread's scope,
the expected mode; a general or action turn cites nothing), cited right, and the route taken. For each follow-up,
retrieval alone is compared too: the index's hybrid search with the standalone rewrite of the follow-up
(agents/conversations/followup.py) against the follow-up as it is, source hit@1.
"""

from __future__ import annotations

import json
import os
import re
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from agents.conversations.followup import standalone
from agents.conversations.history import Turn
from agents.runner import Runner, TokenDelta, TurnDone, TurnFailed, TurnOptions
from tools.errors import DeskmateError, EvalError
from tools.index.knowledge import KnowledgeIndex
from tools.index.scope import Scope, parse_scope
from tools.index.search import search

KINDS = ("first", "followup", "scoped", "count", "general", "action")
FILE_KINDS = frozenset({"first", "followup", "scoped"})
NO_CITATION_KINDS = frozenset({"general", "action"})
MAX_SET_BYTES = 4 * 1024 * 1024
_SPACE = re.compile(r"\s+")
# A folder or file of a scope, up to the next comma or key ("folder:budgets type:pdf").
_PLACE = re.compile(r"\b(folders?|files?|dir)\s*:\s*(.+?)(?=\s*,|\s+[A-Za-z-]+\s*:|\s*$)", re.I)


@dataclass(frozen=True, slots=True)
class Expect:
    route: str
    source: str | None
    not_source: str | None
    answer_contains: tuple[str, ...]
    mode: str | None = None


@dataclass(frozen=True, slots=True)
class ConversationTurn:
    question: str
    kind: str
    expect: Expect
    no_model: Expect  # what is expected when the run has no model
    scope: str | None = None
    action: str | None = None
    arg: str | None = None
    selection: str | None = None

    def expected(self, with_model: bool) -> Expect:
        return self.expect if with_model else self.no_model


@dataclass(frozen=True, slots=True)
class Conversation:
    id: str
    title: str
    turns: tuple[ConversationTurn, ...]


def _text(value: Any, what: str, *, optional: bool = False) -> str | None:
    if value is None and optional:
        return None
    if not isinstance(value, str) or not value.strip() or "\x00" in value:
        raise ValueError(f"{what} must be non-empty text")
    return value


def _inside(rel: str, docs: Path, what: str) -> str:
    """``rel``, a path relative to ``docs`` that stays inside it (the set's data never points elsewhere)."""
    if os.path.isabs(rel) or ".." in Path(rel).parts:
        raise ValueError(f"{what} {rel!r} must be a path inside docs/")
    if not (docs / rel).exists():
        raise ValueError(f"{what} {rel!r} is not in {docs}")
    return rel


def _expect(row: Any, docs: Path, base: Expect | None = None) -> Expect:
    if not isinstance(row, dict):
        raise ValueError("expect must be an object")
    names = {f.name for f in fields(Expect)}
    values = asdict(base) if base else {}
    values.update({k: v for k, v in row.items() if k in names})
    contains = values.get("answer_contains", [])
    if not isinstance(contains, list | tuple) or not all(isinstance(s, str) and s.strip() for s in contains):
        raise ValueError("answer_contains must be a list of non-empty strings")
    source, not_source = values.get("source"), values.get("not_source")
    return Expect(
        str(_text(values.get("route"), "route")),
        None if source is None else _inside(str(_text(source, "source")), docs, "source"),
        None if not_source is None else _inside(str(_text(not_source, "not_source")), docs, "not_source"),
        tuple(contains), _text(values.get("mode"), "mode", optional=True))


def _turn(row: Any, docs: Path) -> ConversationTurn:
    if not isinstance(row, dict):
        raise ValueError("a turn must be an object")
    kind = row.get("kind")
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}, not {kind!r}")
    expect = _expect(row.get("expect"), docs)
    scope = _text(row.get("scope"), "scope", optional=True)
    for match in _PLACE.finditer(scope or ""):
        _inside(match.group(2).strip().strip('"'), docs, "a scope's folder or file")
    action = _text(row.get("action"), "action", optional=True)
    selection = _text(row.get("selection"), "selection", optional=True)
    if kind == "action" and (action is None or selection is None):
        raise ValueError("an action turn needs an action and a selection")
    no_model = _expect(row["expect"].get("no_model") or {}, docs, expect)
    return ConversationTurn(str(_text(row.get("question"), "question")), kind, expect, no_model, scope, action,
                            _text(row.get("arg"), "arg", optional=True), selection)


def load_conversations(folder: Path) -> list[Conversation]:
    """The conversations of ``folder/conversations.jsonl``; an EvalError says which line is wrong and why."""
    path, docs = folder / "conversations.jsonl", folder / "docs"
    missing = [str(p) for p in (path, docs) if not p.exists()]
    if missing:
        raise EvalError(f"not a conversation set, missing: {', '.join(missing)}")
    if path.stat().st_size > MAX_SET_BYTES:
        raise EvalError(f"{path} is larger than {MAX_SET_BYTES // 2**20} MiB: not a conversation set")
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise EvalError(f"{path} is not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    conversations = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            if not isinstance(row, dict) or not isinstance(row.get("turns"), list) or not row["turns"]:
                raise ValueError("a conversation is an object with a non-empty list of turns")
            turns = tuple(_turn(t, docs) for t in row["turns"])
            conversations.append(Conversation(str(row.get("id", number)), str(row.get("title", "")), turns))
        except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            raise EvalError(f"{path}:{number}: {exc}") from None
    if not conversations:
        raise EvalError(f"{path} holds no conversations")
    return conversations


def resolve_scope(spec: str, docs: Path) -> Scope:
    """The scope ``spec`` describes, its folders and files taken from ``docs`` (not from the current folder)."""
    return parse_scope(_PLACE.sub(lambda m: f'{m.group(1)}:"{(docs / m.group(2).strip().strip(chr(34))).as_posix()}"',
                                  spec))


def answer_has(needle: str, answer: str) -> bool:
    """``needle`` in ``answer``, ignoring case and spacing; a number at its edge must not run on ("2" is not "2024")."""
    pattern = re.escape(_SPACE.sub(" ", needle.strip().lower())).replace(r"\ ", r"\s+")
    pattern = (r"(?<![\d.,])" if needle.strip()[:1].isdigit() else "") + pattern
    pattern += r"(?!\d|,\d)" if needle.strip()[-1:].isdigit() else ""
    return re.search(pattern, answer.lower()) is not None


@dataclass(slots=True)
class TurnResult:
    conversation: str
    turn: int  # 1-based
    kind: str
    question: str
    expected_route: str
    route: str
    route_reason: str
    mode: str  # "failed" when the turn failed
    answer: str
    cited: list[str]  # cited files relative to docs/, each once, in citation order ("../x" is outside docs/)
    query: str | None
    content_right: bool
    cited_right: bool
    in_scope: bool
    mode_right: bool
    draft_ms: float | None = None
    first_token_ms: float | None = None  # the model's first streamed token, from the start of the turn
    latency_ms: float | None = None
    error: str | None = None

    @property
    def right(self) -> bool:
        return self.error is None and self.content_right and self.cited_right and self.in_scope and self.mode_right

    @property
    def route_right(self) -> bool:
        return self.route == self.expected_route

    def as_dict(self) -> dict[str, Any]:
        return asdict(self) | {"right": self.right, "route_right": self.route_right}


@dataclass(slots=True)
class RetrievalCheck:
    """A follow-up searched as it is and as its standalone rewrite: the top file of each (relative to docs/)."""

    conversation: str
    turn: int
    question: str
    source: str
    not_source: str | None
    rewrite: str
    changed: bool
    as_is_top: str | None
    rewrite_top: str | None

    @property
    def as_is_hit(self) -> bool:
        return self.as_is_top == self.source

    @property
    def rewrite_hit(self) -> bool:
        return self.rewrite_top == self.source

    def as_dict(self) -> dict[str, Any]:
        return asdict(self) | {"as_is_hit": self.as_is_hit, "rewrite_hit": self.rewrite_hit}


@dataclass(frozen=True, slots=True)
class KindScore:
    kind: str
    n: int
    right: int
    cited_right: int
    route_right: int
    routes: dict[str, int]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(slots=True)
class ConversationReport:
    with_model: bool
    turns: list[TurnResult] = field(default_factory=list)
    retrieval: list[RetrievalCheck] = field(default_factory=list)

    def by_kind(self) -> list[KindScore]:
        """Per kind, in KINDS order (kinds with no turns left out), then ``all``."""
        groups = [(k, [t for t in self.turns if t.kind == k]) for k in KINDS] + [("all", self.turns)]
        return [KindScore(k, len(ts), sum(t.right for t in ts), sum(t.cited_right for t in ts),
                          sum(t.route_right for t in ts), dict(Counter(t.route for t in ts)))
                for k, ts in groups if ts]

    def hit_at_1(self) -> dict[str, Any]:
        """Source hit@1 of the follow-ups searched as they are and rewritten (None when there are none)."""
        n = len(self.retrieval)
        return {"followups": n, "rewritten": sum(r.changed for r in self.retrieval),
                "as_is": sum(r.as_is_hit for r in self.retrieval) / n if n else None,
                "rewrite": sum(r.rewrite_hit for r in self.retrieval) / n if n else None}

    def as_dict(self) -> dict[str, Any]:
        return {"with_model": self.with_model, "by_kind": [s.as_dict() for s in self.by_kind()],
                "hit_at_1": self.hit_at_1(), "turns": [t.as_dict() for t in self.turns],
                "retrieval": [r.as_dict() for r in self.retrieval]}


def _relative(path: str, docs: Path) -> str:
    try:
        return Path(os.path.relpath(os.path.realpath(path), docs)).as_posix()
    except ValueError:  # another drive on Windows
        return path


@dataclass(frozen=True, slots=True)
class Verdict:
    cited: list[str]
    content_right: bool
    cited_right: bool
    in_scope: bool
    mode_right: bool


FAILED = Verdict([], False, False, True, False)


def judge(turn: ConversationTurn, done: TurnDone, docs: Path, scope: Scope | None, with_model: bool) -> Verdict:
    """The verdicts on one finished turn; ``docs`` resolved, ``scope`` the thread's at this turn."""
    expect = turn.expected(with_model)
    cited = list(dict.fromkeys(_relative(c.path, docs) for c in done.citations))
    if expect.source is not None:
        cited_right = expect.source in cited and expect.not_source not in cited
    elif turn.kind in NO_CITATION_KINDS:
        cited_right = not cited
    else:
        cited_right = expect.not_source not in cited
    content = (any(answer_has(s, done.answer) for s in expect.answer_contains) if expect.answer_contains
               else bool(done.answer.strip()))
    in_scope = scope is None or all(scope.allows(os.path.realpath(c.path)) for c in done.citations)
    return Verdict(cited, content, cited_right, in_scope, expect.mode is None or done.mode == expect.mode)


def _ask(runner: Runner, question: str, thread: str, options: TurnOptions) -> tuple[TurnDone | str, float | None]:
    """The turn's end (or its error) and its first model token in ms from the start of the turn."""
    started, first = time.perf_counter(), None
    end: TurnDone | str = "the turn ended without a result"
    try:
        for event in runner.ask(question, thread, options=options):
            if isinstance(event, TokenDelta) and first is None:
                first = (time.perf_counter() - started) * 1000
            elif isinstance(event, TurnDone):
                end = event
            elif isinstance(event, TurnFailed):
                end = event.error
    except DeskmateError as exc:  # one broken turn is a wrong answer, not the end of the run
        end = str(exc)
    return end, first


def _top(index: KnowledgeIndex, query: str, scope: Scope | None, docs: Path) -> str | None:
    hits = search(index, query, k=1, filters=scope.filters() if scope else None) if query.strip() else []
    return _relative(hits[0].path, docs) if hits else None


def run_conversation(runner: Runner, conversation: Conversation, docs: Path, *, with_model: bool,
                     index: KnowledgeIndex | None = None) -> tuple[list[TurnResult], list[RetrievalCheck]]:
    """One conversation in a new thread; with ``index``, its follow-ups' retrieval compared (see the module)."""
    root = Path(os.path.realpath(docs))
    thread = f"{conversation.id}-{uuid.uuid4().hex[:8]}"
    scope: Scope | None = None
    history: list[Turn] = []
    results, checks = [], []
    for number, turn in enumerate(conversation.turns, 1):
        given = resolve_scope(turn.scope, root) if turn.scope else None
        scope = given or scope
        expect = turn.expected(with_model)
        if index is not None and turn.kind == "followup" and expect.source is not None:
            rewrite = standalone(turn.question, history)
            checks.append(RetrievalCheck(conversation.id, number, turn.question, expect.source, expect.not_source,
                                         rewrite.query, rewrite.changed, _top(index, turn.question, scope, root),
                                         _top(index, rewrite.query, scope, root)))
        options = TurnOptions(scope=given, action=turn.action, action_arg=turn.arg, selection=turn.selection)
        end, first = _ask(runner, turn.question, thread, options)
        verdict = FAILED if isinstance(end, str) else judge(turn, end, root, scope, with_model)
        done = None if isinstance(end, str) else end
        results.append(TurnResult(
            conversation.id, number, turn.kind, turn.question, expect.route, done.route if done else "",
            done.route_reason if done else "", done.mode if done else "failed", done.answer if done else "",
            verdict.cited, done.query if done else None, verdict.content_right, verdict.cited_right,
            verdict.in_scope, verdict.mode_right, done.draft_ms if done else None, first,
            done.latency_ms if done else None, end if isinstance(end, str) else None))
        if done is None:
            continue
        history.append(Turn(turn.question, done.answer, tuple(c.path for c in done.citations)))
    return results, checks


def run_conversations(runner: Runner, conversations: Iterable[Conversation], docs: Path, *, with_model: bool,
                      index: KnowledgeIndex | None = None,
                      progress: Callable[[int], None] | None = None) -> ConversationReport:
    """Every conversation through ``runner`` (no approvals), judged; ``with_model`` picks the expectations."""
    report = ConversationReport(with_model)
    for n, conversation in enumerate(conversations, 1):
        turns, checks = run_conversation(runner, conversation, docs, with_model=with_model, index=index)
        report.turns += turns
        report.retrieval += checks
        if progress:
            progress(n)
    return report

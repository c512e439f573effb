"""Answer evaluation on an answer set: questions with expected sources and key facts, asked of the real agent.

An answer set is a folder with ``docs/`` and ``questions.jsonl``, one question per line: ``id``, ``question``,
``expected_sources`` (paths relative to ``docs/``) and ``key_facts`` (strings a right answer states). The older
layout of ``tests/data/answerset`` (``source``: one file, ``answer_contains``: the facts) is read as the same thing.

Per answer: which files it cited and how many are expected (citation precision), whether each citation's quote
occurs in its file (support), and which key facts it states (recall: the fact as a substring, ignoring case and
spacing, or every word of it somewhere in the answer). Figures are given per answer mode (llm, fallback, cache).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from agents.citations import quote_occurs
from agents.runner import Runner, TurnDone, TurnFailed
from tools.errors import EvalError
from tools.index.document import ParseError
from tools.index.parsers import parse_file

_SPACE = re.compile(r"\s+")
_WORD = re.compile(r"\w+")


@dataclass(frozen=True, slots=True)
class AnswerQuestion:
    id: str
    question: str
    expected_sources: tuple[str, ...]
    key_facts: tuple[str, ...]


def _strings(value: Any) -> tuple[str, ...]:
    items = [value] if isinstance(value, str) else value if isinstance(value, list) else None
    if items is None or not all(isinstance(v, str) for v in items):
        raise ValueError("expected a string or a list of strings")
    return tuple(items)


def load_answer_set(folder: Path) -> list[AnswerQuestion]:
    """The questions of ``folder/questions.jsonl``; an EvalError says what is missing or malformed."""
    path, docs = folder / "questions.jsonl", folder / "docs"
    missing = [str(p) for p in (path, docs) if not p.exists()]
    if missing:
        raise EvalError(f"not an answer set, missing: {', '.join(missing)}")
    questions = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            sources = _strings(row["expected_sources"] if "expected_sources" in row else row["source"])
            facts = _strings(row["key_facts"] if "key_facts" in row else row["answer_contains"])
            questions.append(AnswerQuestion(str(row.get("id", number)), str(row["question"]), sources, facts))
        except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            raise EvalError(f"{path}:{number}: needs id, question, expected_sources and key_facts ({exc})") from exc
    if not questions:
        raise EvalError(f"{path} holds no questions")
    return questions


def _normal(text: str) -> str:
    return _SPACE.sub(" ", text).strip().lower()


def fact_found(fact: str, answer: str) -> bool:
    """The fact as a substring (ignoring case and spacing), or every word of it somewhere in the answer."""
    needle = _normal(fact)
    if not needle:
        return False
    if needle in _normal(answer):
        return True
    words = set(_WORD.findall(answer.lower()))
    wanted = _WORD.findall(fact.lower())
    return bool(wanted) and all(w in words for w in wanted)


class SourceTexts:
    """Each cited file's text, read once: as parsed for the index (what quotes come from) and as stored on disk."""

    def __init__(self) -> None:
        self._texts: dict[str, str] = {}

    def __call__(self, path: str) -> str:
        if path not in self._texts:
            parts = []
            try:
                parts.append("\n".join(b.text for b in parse_file(Path(path)).blocks))
            except ParseError:
                pass
            try:
                parts.append(Path(path).read_text(encoding="utf-8", errors="replace"))
            except OSError:
                pass
            self._texts[path] = "\n\n".join(parts)
        return self._texts[path]


@dataclass(slots=True)
class Judged:
    id: str
    question: str
    mode: str  # llm, fallback, cache; "failed" when the turn failed
    answer: str
    cited: list[str]  # cited files relative to docs/, in citation order (repeats kept: each citation counts)
    expected_cited: int
    supported: int
    facts: list[str]
    facts_found: list[str]
    fallback_reason: str | None = None
    unsupported_quotes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _relative(path: str, docs: Path) -> str:
    try:
        return Path(os.path.relpath(os.path.realpath(path), docs)).as_posix()
    except ValueError:  # another drive on Windows
        return path


def judge(question: AnswerQuestion, done: TurnDone | None, docs: Path, texts: Callable[[str], str]) -> Judged:
    """One answer against its question; ``done`` None is a failed turn (no answer, no citations)."""
    if done is None:
        return Judged(question.id, question.question, "failed", "", [], 0, 0, list(question.key_facts), [])
    cited = [_relative(c.path, docs) for c in done.citations]
    unsupported = [c.quote for c in done.citations if not quote_occurs(c.quote, texts(c.path))]
    return Judged(question.id, question.question, done.mode, done.answer, cited,
                  sum(p in question.expected_sources for p in cited), len(done.citations) - len(unsupported),
                  list(question.key_facts), [f for f in question.key_facts if fact_found(f, done.answer)],
                  done.fallback_reason, unsupported)


def ask_all(runner: Runner, questions: Iterable[AnswerQuestion], docs: Path,
            progress: Callable[[int], None] | None = None) -> list[Judged]:
    """Every question asked through ``runner`` in a new thread (no approvals), each answer judged."""
    texts, results = SourceTexts(), []
    root = Path(os.path.realpath(docs))
    for n, question in enumerate(questions, 1):
        final: TurnDone | None = None
        for event in runner.ask(question.question):
            if isinstance(event, TurnDone):
                final = event
            elif isinstance(event, TurnFailed):
                final = None
        results.append(judge(question, final, root, texts))
        if progress:
            progress(n)
    return results


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def figures(judged: list[Judged]) -> dict[str, Any]:
    """Counts and rates over some answers; a rate with nothing to count is None."""
    citations = sum(len(j.cited) for j in judged)
    facts = sum(len(j.facts) for j in judged)
    return {
        "questions": len(judged),
        "citations": citations,
        "uncited_answers": sum(not j.cited for j in judged),
        "citation_precision": _ratio(sum(j.expected_cited for j in judged), citations),
        "support": _ratio(sum(j.supported for j in judged), citations),
        "key_fact_recall": _ratio(sum(len(j.facts_found) for j in judged), facts),
        "answers_with_every_fact": _ratio(sum(len(j.facts_found) == len(j.facts) for j in judged), len(judged)),
    }


def summarize(judged: list[Judged]) -> dict[str, Any]:
    """Figures over every answer (``all``) and per answer mode, modes in a fixed order."""
    order = ["llm", "fallback", "cache", "failed"]
    modes = sorted({j.mode for j in judged}, key=lambda m: (order.index(m) if m in order else len(order), m))
    return {"all": figures(judged), "by_mode": {m: figures([j for j in judged if j.mode == m]) for m in modes}}

"""Evaluation cases from the answers the user rated: each question with the files that should and should not answer it.

A rated turn (agents/observability/traces.py) gives a case when its question was stored: the files marked "this
source was right" and, for a thumbs-up answer, every file it cited are expected; files marked "wrong" are wrong (a
verdict on a file outranks the thumb). The same question rated again merges into one case, later verdicts overriding
earlier ones. Turns whose question was withheld (``[trust] redact_documents``) cannot be asked again and are
counted as skipped.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from agents.observability.traces import TurnTrace

_SPACE = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class Case:
    id: str  # stable for the same question across runs: how runs are compared case by case
    question: str
    expected: tuple[str, ...]
    wrong: tuple[str, ...]
    traces: tuple[str, ...]  # the rated turns it was built from

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "question": self.question, "expected": list(self.expected),
                "wrong": list(self.wrong), "traces": list(self.traces)}


@dataclass(slots=True)
class CaseSet:
    cases: list[Case] = field(default_factory=list)
    rated: int = 0  # rated turns read
    withheld: int = 0  # rated turns skipped: their question was withheld
    unjudged: int = 0  # rated turns that name no file to check (a thumbs-down without verdicts on its sources)


def _normal(question: str) -> str:
    return _SPACE.sub(" ", question).strip().lower()


def case_id(question: str) -> str:
    return hashlib.sha1(_normal(question).encode("utf-8")).hexdigest()[:10]


def cited_paths(turn: TurnTrace) -> list[str]:
    """The files a stored answer cited, in citation order, each once."""
    paths = [c.get("path") for c in turn.root.attributes.get("citations") or [] if isinstance(c, dict)]
    return list(dict.fromkeys(p for p in paths if isinstance(p, str) and p))


def verdicts(turn: TurnTrace) -> dict[str, str]:
    """Path -> "right" or "wrong" for one rated turn: the thumb's citations first, then the per-source verdicts."""
    judged = dict.fromkeys(cited_paths(turn), "right") if turn.summary.feedback == "up" else {}
    judged.update({p: v for p, v in turn.feedback_sources.items() if v in ("right", "wrong")})
    return judged


def build_cases(turns: Iterable[TurnTrace]) -> CaseSet:
    """The cases in the order their questions were first rated; ``turns`` oldest first."""
    result = CaseSet()
    merged: dict[str, tuple[str, dict[str, str], list[str]]] = {}
    for turn in turns:
        result.rated += 1
        question = turn.summary.question
        if question is None or not question.strip():
            result.withheld += 1
            continue
        judged = verdicts(turn)
        if not judged:
            result.unjudged += 1
            continue
        key = case_id(question)
        _, known, ids = merged.setdefault(key, (question.strip(), {}, []))
        for path, verdict in judged.items():
            known.pop(path, None)  # re-inserted: the latest verdict wins and keeps its citation order
            known[path] = verdict
        ids.append(turn.summary.id)
    for key, (question, known, ids) in merged.items():
        result.cases.append(Case(key, question, tuple(p for p, v in known.items() if v == "right"),
                                 tuple(p for p, v in known.items() if v == "wrong"), tuple(ids)))
    return result

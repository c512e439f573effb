"""Grounding: whether a model's answer is usable, which sources it cites, and which of its claims nothing supports."""

from __future__ import annotations

import re

from agents import workflows
from agents.citations import Citation
from tools.index.search import SearchHit

# Share of a sentence's content words that must occur in its source. On the answer set (bench/answer_quality.py)
# 0.6 let 5 wrong model answers of 15 through, 0.8 let 1 of 9.
SUPPORT = 0.8
_MARKER = re.compile(r"\[(\d{1,2})\]")
_SOURCE_LINE = re.compile(r"^\s*\[\d{1,2}\]\s*\([^)\n]*\)\s*$", re.M)


def _support(words: set[str], source: str) -> float:
    return len(words & set(workflows.terms(source))) / len(words) if words else 1.0


def llm_citations(
    answer: str, hits: list[SearchHit], tool_results: tuple[str, ...] = (), question: str = ""
) -> tuple[list[Citation], list[str]]:
    """The citations an answer makes, and its claims that no source supports.

    A sentence's claim is its content words (beyond the question's, when tools ran). It is supported when most occur in
    the source it cites with [n] (or, when it cites none, as small models often do, the best matching source, which
    it is then taken to cite) together with the tools' results. Each citation quotes the source sentence closest to
    the claim.
    """
    # With tools in play, words restating the question are not claims (a computed answer repeats what was asked);
    # without, they count: dropping them let wrong answers through on the answer set (bench/answer_quality.py).
    asked = set(workflows.terms(question)) if tool_results else set()
    tools_text = " ".join(tool_results)
    out: list[Citation] = []
    unsupported: list[str] = []
    seen: set[int] = set()
    text = _SOURCE_LINE.sub("", answer)  # a model that copies a source's header line is not making a claim
    for start, end in workflows.sentence_spans(text):
        sentence = text[start:end]
        words = set(workflows.terms(_MARKER.sub("", sentence))) - asked
        if not words:
            continue  # restates the question: no claim to check
        numbers = [int(m) for m in _MARKER.findall(sentence) if 1 <= int(m) <= len(hits)]
        if not numbers:
            best = max(range(len(hits)), key=lambda i: _support(words, hits[i].text), default=None)
            numbers = [best + 1] if best is not None else []
        support = max((_support(words, hits[n - 1].text + " " + tools_text) for n in numbers), default=0.0)
        if max(support, _support(words, tools_text)) < SUPPORT:
            unsupported.append(sentence.strip())  # neither its source nor a tool's result says this
            continue
        if not numbers or max(_support(words, hits[n - 1].text) for n in numbers) == 0:
            continue  # supported by a tool's result alone: nothing to cite
        for number in numbers:
            if number in seen:
                continue
            seen.add(number)
            quoted = workflows.extractive_answer(sentence, [hits[number - 1]], max_sentences=1).citations
            if quoted:
                out.append(quoted[0])
    return out, unsupported


def unusable(answer: str, instructions: str) -> str | None:
    """Why a model's answer is garbage (empty, looping, or echoing the instructions), or None when it is usable."""
    if not answer:
        return "the model returned an empty answer"
    lines = [line.strip() for line in answer.splitlines() if line.strip()]
    if lines and max(lines.count(line) for line in lines) >= 3:
        return "the model's answer repeats itself"
    sentences = [s for s in re.split(r"(?<=[.!?])\s+", instructions) if len(s) > 30]
    if any(s in answer for s in sentences):
        return "the model's answer repeats its instructions"
    return None

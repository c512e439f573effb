"""What a request asks for, decided without the language model: rules first, then similarity to example phrases.

The fallback workflows and the router both use this, so it must work when no model does: it needs at most the
embedding model, and with no embedder it still answers from the rules (defaulting to a question about documents).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

import numpy as np

from tools import calc, clock

Intent = Literal["search", "summarize", "calculate", "datetime", "remember", "recall", "forget", "question", "chat"]
Embed = Callable[[Sequence[str]], np.ndarray]  # texts -> L2-normalised rows


class _Rule(Protocol):
    """A rule matches a request when ``search`` returns something true (a compiled pattern is one)."""

    def search(self, text: str, /) -> object: ...


@dataclass(frozen=True, slots=True)
class _ToolReads:
    """A rule that asks the tool itself whether it reads the request, instead of a pattern that looks like it.

    "what is 17 times 23" and "what is the warranty on the pump" share their first words; only the calculator's
    own parser tells them apart.
    """

    reads: Callable[[str], bool]

    def search(self, text: str, /) -> bool:
        return self.reads(text)


_RULES: tuple[tuple[Intent, _Rule], ...] = (
    ("forget", re.compile(r"^\s*(please\s+)?forget\b", re.I)),
    ("remember", re.compile(r"^\s*(please\s+)?(remember|note|keep in mind)\b(?!.*\?\s*$)", re.I)),
    ("recall", re.compile(r"\b(what do you (remember|know) about me|what did i (tell|ask) you to remember|"
                          r"do you remember)\b", re.I)),
    ("summarize", re.compile(r"^\s*(please\s+)?(summari[sz]e|give me a summary of|tl;?dr)\b", re.I)),
    ("search", re.compile(r"^\s*(please\s+)?(find|search( for)?|look for|locate|list( the)? files|"
                          r"which (of my )?(file|files|document|documents|note|notes)|"
                          r"where (is|are|did i (put|write|save)))\b",
                          re.I)),
    ("datetime", re.compile(r"\b(what time is it|current time|today'?s date|what (day|date) is (it|today)|"
                            r"days? (until|between|from|after|before)|weeks? (from|after|before)|"
                            r"day of the week)\b", re.I)),
    ("datetime", _ToolReads(clock.understands)),  # "10 days ago", "what is 2026-12-01 + 3 weeks"
    # Symbols are arithmetic even when the calculator will refuse them ("1/0"): its message says why.
    ("calculate", re.compile(r"^\s*(what is |calculate |compute )?[-+(]?\s*\d[\d,.\s]*([-+*/x^%]|\bpercent\b)",
                             re.I)),
    ("calculate", re.compile(r"^\s*(please\s+)?convert\s+[-+]?\.?\d", re.I)),
    # Words ("what is seventeen times 23", "a third of 90", "how many ounces in a kg"): only what the calculator reads.
    ("calculate", _ToolReads(calc.understands)),
    ("chat", re.compile(r"^\s*(hi|hello|hey|thanks|thank you|good (morning|evening|afternoon))\b[\s!.]*$", re.I)),
)

# Topic-free on purpose: with nouns like "budget" in the examples, the embedding matches topics, not intents.
EXAMPLES: dict[Intent, tuple[str, ...]] = {
    "search": ("which file mentions this", "find the document where I wrote about it", "where did I save that",
               "look up the files about this topic"),
    "summarize": ("summarize this document", "what is this document about", "give me the gist of this file",
                  "what are the key points of the report", "give me an overview of the document"),
    "calculate": ("what is fifteen percent of eighty", "convert kilometres to miles", "how much is twelve times seven"),
    "datetime": ("what is the date today", "how many days until the holiday", "what day of the week is that date"),
    "remember": ("remember this fact about me", "please note that I prefer short answers"),
    "recall": ("what do you know about me", "what did I ask you to remember", "what are my saved preferences"),
    "forget": ("forget what I told you", "delete what you remember about me"),
    "question": ("how do I do this", "what did they decide", "why did it happen", "explain how it works"),
}


@dataclass(frozen=True, slots=True)
class IntentDecision:
    intent: Intent
    confidence: float
    by: Literal["rule", "similarity", "default"]


class IntentClassifier:
    """Rules, then cosine similarity to ``EXAMPLES`` (with an embedder, when one intent clearly scores best)."""

    def __init__(self, embed: Embed | None = None, threshold: float = 0.4, margin: float = 0.05) -> None:
        self._embed = embed
        self.threshold = threshold
        self.margin = margin
        self._labels: list[Intent] = []
        self._vectors: np.ndarray | None = None

    def _examples(self, embed: Embed) -> tuple[list[Intent], np.ndarray]:
        if self._vectors is None:
            pairs = [(label, text) for label, texts in EXAMPLES.items() for text in texts]
            self._labels = [label for label, _ in pairs]
            self._vectors = np.asarray(embed([text for _, text in pairs]), dtype=np.float32)
        return self._labels, self._vectors

    def classify(self, request: str) -> IntentDecision:
        text = request.strip()
        for intent, pattern in _RULES:
            if pattern.search(text):
                return IntentDecision(intent, 1.0, "rule")
        if self._embed is not None and text:
            labels, vectors = self._examples(self._embed)
            query = np.asarray(self._embed([text]), dtype=np.float32)[0]
            scores = vectors @ query
            per_intent: dict[Intent, float] = {}
            for label, score in zip(labels, scores.tolist(), strict=True):
                per_intent[label] = max(per_intent.get(label, -1.0), score)
            ranked = sorted(per_intent.items(), key=lambda item: item[1], reverse=True)
            (best, score), runner_up = ranked[0], ranked[1][1] if len(ranked) > 1 else -1.0
            # Only a clear winner counts: two intents scoring alike means the examples cannot tell.
            if score >= self.threshold and score - runner_up >= self.margin:
                return IntentDecision(best, score, "similarity")
        return IntentDecision("question", 0.0, "default")

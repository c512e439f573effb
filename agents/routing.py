"""Model routing: which models to try for a request, in order (the small fast one first for simple requests).

The agent tries them in turn, moving to the next on a typed provider failure (not installed, timeout, unreachable,
circuit open, ...); when all fail, the deterministic answer stands.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from functools import partial
from typing import Literal

from agents.providers.health import GuardedChatModel
from agents.providers.registry import ModelRegistry

ModelGetter = Callable[[], GuardedChatModel]
_HARD = re.compile(r"\b(compare|contrast|explain why|why does|why did|analy[sz]e|evaluate|pros and cons|"
                   r"step by step|trade-?offs?|in detail|implications?)\b", re.I)
HARD_WORDS = 30


def difficulty(question: str) -> Literal["simple", "hard"]:
    """Hard: comparisons, analyses, explanations of why, long or multi-part questions."""
    words = len(question.split())
    return "hard" if _HARD.search(question) or words > HARD_WORDS or question.count("?") > 1 else "simple"


class ModelRouter:
    """Orders the configured models for a question: small first when simple, large first when hard, then the rest."""

    def __init__(self, registry: ModelRegistry, small: str, large: str | None = None,
                 fallbacks: Sequence[str] = ()) -> None:
        for name in (small, large, *fallbacks):
            if name:
                registry.spec(name)  # an unknown name is a configuration error, raised now
        self.registry = registry
        self.small, self.large, self.fallbacks = small, large, list(fallbacks)

    def order(self, question: str) -> list[str]:
        first = [self.small, self.large] if difficulty(question) == "simple" else [self.large, self.small]
        names: list[str] = []
        for name in [*first, *self.fallbacks]:
            if name and name not in names:
                names.append(name)
        return names

    def getters(self, question: str) -> list[ModelGetter]:
        return [partial(self.registry.chat_model, name) for name in self.order(question)]


Models = Callable[[str], list[ModelGetter]]  # the models to try for a question, in order (the graph's one way in)


def no_models(question: str) -> list[ModelGetter]:
    """No model: every answer is the deterministic one."""
    return []


def only(getter: ModelGetter) -> Models:
    """One model for every question (``--model``, tests)."""
    return lambda question: [getter]

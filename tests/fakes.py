"""In-repo test doubles: a deterministic embedder that needs no model, counting every text it embeds."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

import numpy as np

from tools.index.embedder import EmbedderIdentity

_WORD = re.compile(r"\w+")


class FakeEmbedder:
    """Hashed bag-of-words vectors: texts sharing words are close, identical texts identical.

    ``embedded`` lists every text embedded so tests can check that unchanged chunks are never re-embedded.
    """

    def __init__(self, dims: int = 64, name: str = "fake") -> None:
        self.identity = EmbedderIdentity(f"test/{name}", "bag-of-words-v1", "0" * 64, dims)
        self.execution_provider = "CPUExecutionProvider"
        self.dims = dims
        self.embedded: list[str] = []

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        return [len(_WORD.findall(t)) + t.count(".") for t in texts]

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.embedded.extend(texts)
        out = np.zeros((len(texts), self.dims), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in _WORD.findall(text.lower()):
                out[row, int(hashlib.md5(word.encode()).hexdigest()[:8], 16) % self.dims] += 1.0
            norm = np.linalg.norm(out[row])
            out[row] = out[row] / norm if norm else out[row]
            if not norm:
                out[row, 0] = 1.0
        return out

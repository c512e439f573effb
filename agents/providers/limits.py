"""Limits: deadlines, retries, breaker and local runtime settings shared by every provider.

Kept free of LangChain and ONNX Runtime imports, so settings (and the desktop app's start-up) can read it cheaply.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Device = Literal["auto", "cpu", "cuda", "dml"]


@dataclass(frozen=True, slots=True)
class Limits:
    """Deadlines, retries and breaker settings shared by every provider; local runtime options."""

    first_token_timeout_s: float = 60.0
    total_timeout_s: float = 300.0
    retries: int = 2
    backoff_s: float = 0.5
    breaker_failures: int = 3
    breaker_reset_s: float = 30.0
    device: Device = "auto"
    threads: int | None = None
    local_context_tokens: int = 4096
    max_tokens: int = 512
    separate_process: bool = False  # run local models in a child process (the desktop app: its GUI never stalls)


__all__ = ["Device", "Limits"]

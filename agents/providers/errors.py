"""The typed failures a model provider can raise; the agent's fallback chain decides on these.

    DeskmateError
    └── ProviderError            a model or provider could not answer (``retryable`` says whether trying again helps)
        ├── ModelNotInstalled    the model's files or the runtime package are missing
        ├── ModelLoadFailed      the files are there but the runtime refused them
        ├── ModelOutOfMemory     the device ran out of memory loading or running the model
        ├── ProviderTimeout      no first token, or no complete answer, within the configured time
        ├── ProviderUnreachable  the server could not be reached or dropped the connection
        ├── BadResponse          the server answered with an error status or something that is not the protocol
        ├── CircuitOpen          recent calls kept failing, so calls are refused until a probe succeeds
        └── GenerationCancelled  the caller stopped the answer

This is the ProviderError branch of the tree in tools/errors.py; every class above is defined here and nowhere else.
Adapters (``genai.py``, ``openai_compat.py``) translate library exceptions into these at the boundary.
"""

from __future__ import annotations

from tools.errors import DeskmateError


class ProviderError(DeskmateError):
    """A model or provider could not produce an answer."""

    retryable = False
    kind = "provider_error"

    def __init__(self, message: str, *, model: str | None = None) -> None:
        super().__init__(message)
        self.model = model


class ModelNotInstalled(ProviderError):
    kind = "not_installed"


class ModelLoadFailed(ProviderError):
    kind = "load_failed"


class ModelOutOfMemory(ProviderError):
    kind = "out_of_memory"


class ProviderTimeout(ProviderError):
    kind = "timeout"
    retryable = True

    def __init__(self, message: str, *, model: str | None = None, phase: str = "total") -> None:
        super().__init__(message, model=model)
        self.phase = phase  # "first_token" or "total"


class ProviderUnreachable(ProviderError):
    kind = "unreachable"
    retryable = True


class BadResponse(ProviderError):
    kind = "bad_response"

    def __init__(self, message: str, *, model: str | None = None, status: int | None = None) -> None:
        super().__init__(message, model=model)
        self.status = status
        # Overload and server faults pass; a 4xx other than 408/429 will fail the same way again.
        self.retryable = status is not None and (status >= 500 or status in (408, 429))


class CircuitOpen(ProviderError):
    kind = "circuit_open"

    def __init__(self, message: str, *, model: str | None = None, retry_in_s: float = 0.0) -> None:
        super().__init__(message, model=model)
        self.retry_in_s = retry_in_s


class GenerationCancelled(ProviderError):
    kind = "cancelled"

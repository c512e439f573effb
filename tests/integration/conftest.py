from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.openai_server import OpenAIServer


@pytest.fixture
def server() -> Iterator[OpenAIServer]:
    """A local OpenAI-compatible server serving "test-model", scripted per test through ``behave``."""
    with OpenAIServer(model="test-model") as srv:
        yield srv

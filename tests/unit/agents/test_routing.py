from __future__ import annotations

from pathlib import Path

import pytest

from agents.conversations.checkpoints import open_checkpointer
from agents.graph import GraphDeps, build_graph
from agents.providers.errors import ProviderTimeout, ProviderUnreachable
from agents.providers.limits import Limits
from agents.providers.registry import ModelRegistry
from agents.providers.spec import ModelSpec
from agents.routing import ModelRouter, difficulty
from agents.runner import Runner, TurnDone
from tests.unit.agents.helpers import fake, retrieve
from tools.errors import ConfigError


@pytest.mark.parametrize(
    ("question", "level"),
    [("How much is the passport fee?", "simple"), ("Compare the backup and archive policies", "hard"),
     ("Why did the release slip? And who decided?", "hard"), (" ".join(["word"] * 40), "hard")],
)
def test_difficulty(question: str, level: str) -> None:
    assert difficulty(question) == level


@pytest.fixture
def registry() -> ModelRegistry:
    specs = [ModelSpec(name=n, kind="fake", size=s) for n, s in (("fake/small", "small"), ("fake/large", "large"),
                                                                 ("fake/spare", "medium"))]
    return ModelRegistry(specs, Limits(retries=0))


def test_simple_requests_go_small_first_and_hard_ones_large_first(registry: ModelRegistry) -> None:
    router = ModelRouter(registry, "fake/small", "fake/large", ["fake/spare"])
    assert router.order("How much is the fee?") == ["fake/small", "fake/large", "fake/spare"]
    assert router.order("Compare the two policies") == ["fake/large", "fake/small", "fake/spare"]
    with pytest.raises(ConfigError, match="no model named"):
        ModelRouter(registry, "fake/small", "nope/x")


def test_a_failing_model_hands_over_to_the_next_then_to_the_draft(registry: ModelRegistry, tmp_path: Path) -> None:
    router = ModelRouter(registry, "fake/small", "fake/large")
    graph = build_graph(GraphDeps(retrieve, router.getters), open_checkpointer(tmp_path / "t.sqlite3"))
    fake(registry, "fake/small").enqueue_error(ProviderUnreachable("small is down"))
    fake(registry, "fake/large").enqueue("The fee is 95 euros, paid at the counter [1].")
    done = [e for e in Runner(graph).ask("How much is the passport fee?") if isinstance(e, TurnDone)][0]
    assert (done.mode, done.model) == ("llm", "fake/large")

    fake(registry, "fake/small").enqueue_error(ProviderUnreachable("small is down"))
    fake(registry, "fake/large").enqueue_error(ProviderTimeout("large is slow"))
    done = [e for e in Runner(graph).ask("How much is the passport fee?") if isinstance(e, TurnDone)][0]
    assert done.mode == "fallback"
    assert "small is down" in (done.fallback_reason or "") and "large is slow" in (done.fallback_reason or "")
    assert "The fee is 95 euros, paid at the counter." in [c.quote for c in done.citations]

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from agents.providers import catalog
from agents.providers.local import StopMatcher
from agents.providers.spec import ModelSpec
from tools.errors import ConfigError


def test_catalogue_round_trips_and_replaces_by_name(tmp_path: Path) -> None:
    path = tmp_path / "config" / "models.toml"
    local = ModelSpec(name="local/phi", kind="onnx", path=tmp_path / "phi", size="medium", context_length=4096)
    remote = ModelSpec(name="ollama/llama3.2:3b", kind="openai", base_url="http://localhost:11434/v1",
                       model="llama3.2:3b", key_name="ollama", native_tools=True)
    assert catalog.upsert(path, local) is False
    assert catalog.upsert(path, remote) is False
    assert catalog.load(path) == [local, remote]
    assert catalog.upsert(path, local.model_copy(update={"size": "large"})) is True
    assert {s.name: s.size for s in catalog.load(path)} == {"ollama/llama3.2:3b": "small", "local/phi": "large"}
    assert catalog.remove(path, "local/phi") is True
    assert catalog.remove(path, "local/phi") is False
    assert [s.name for s in catalog.load(path)] == ["ollama/llama3.2:3b"]


def test_a_damaged_catalogue_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "models.toml"
    path.write_text("[models.\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="cannot read the model catalogue"):
        catalog.load(path)
    path.write_text('[models."local/x"]\nkind = "onnx"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="needs the path"):
        catalog.load(path)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"name": "no-slash", "kind": "fake"}, "provider/model"),
        ({"name": "r/m", "kind": "openai", "base_url": "ftp://x", "model": "m"}, "http:// or https://"),
        ({"name": "r/m", "kind": "openai", "base_url": "http://x/v1"}, "model id"),
        ({"name": "l/m", "kind": "onnx"}, "path of its folder"),
    ],
)
def test_specs_reject_incomplete_models(fields: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        ModelSpec(**fields)  # type: ignore[arg-type]


def test_stop_matcher_cuts_at_a_stop_string_split_across_pieces() -> None:
    stopper = StopMatcher(["\nUser:"])
    assert stopper.feed("Hello") == ("Hello", False)
    assert stopper.feed(" there\nUs") == (" there", False)  # "\nUs" may become the stop string: held back
    assert stopper.feed("er: next") == ("", True)


def test_stop_matcher_releases_held_text_that_did_not_become_a_stop() -> None:
    stopper = StopMatcher(["###"])
    assert stopper.feed("a #") == ("a ", False)
    assert stopper.feed("1") == ("#1", False)
    assert stopper.feed("#") == ("", False)
    assert stopper.flush() == "#"

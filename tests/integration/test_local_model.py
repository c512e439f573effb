"""The embedded default model, for real: built from the packaged GGUF, run by ONNX Runtime GenAI on this machine."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import pytest
from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage, SystemMessage

from agents.providers import default_model
from agents.providers.completion import complete
from agents.providers.errors import ModelNotInstalled
from agents.providers.limits import Limits
from agents.providers.registry import ModelRegistry
from tests.conftest import REPO

NAME = default_model.DEFAULT_NAME


@pytest.fixture(scope="module")
def registry(default_model_dir: Path) -> ModelRegistry:
    spec = default_model.spec(default_model_dir.parent, "int8")
    return ModelRegistry([spec], Limits(device="auto", local_context_tokens=1024, max_tokens=64))


def test_answers_a_short_factual_question_correctly(registry: ModelRegistry) -> None:
    result = complete(registry.chat_model(NAME), "What is the capital of France?", max_tokens=24)
    assert "Paris" in result.text
    assert result.execution_provider in ("cpu", "cuda", "dml")
    assert result.prompt_tokens > 5 and 0 < result.completion_tokens <= 24
    assert result.time_to_first_token_ms is not None and result.time_to_first_token_ms > 0
    assert result.tokens_per_s > 0


def test_streamed_pieces_add_up_to_the_whole_answer(registry: ModelRegistry) -> None:
    model = registry.chat_model(NAME)
    question = [HumanMessage("Name the largest planet in the solar system.")]
    pieces = [c for c in model.stream(question, max_tokens=30) if isinstance(c, AIMessageChunk)]
    texts = [str(c.content) for c in pieces if c.content]
    assert len(texts) > 3
    whole = model.invoke(question, max_tokens=30)
    assert isinstance(whole, AIMessage)
    assert "".join(texts) == whole.content  # greedy decoding: the same answer streamed or not
    with_usage = [i for i, c in enumerate(pieces) if c.usage_metadata]
    last_text = max(i for i, c in enumerate(pieces) if c.content)
    assert len(with_usage) == 1 and with_usage[0] > last_text  # the figures arrive once, after the text


def test_cancel_stops_generation_mid_stream(registry: ModelRegistry) -> None:
    cancel = threading.Event()
    pieces = []
    stream = registry.chat_model(NAME).stream([HumanMessage("Write a long story about a dragon.")],
                                              max_tokens=200, cancel=cancel)
    for chunk in stream:
        if chunk.content:
            pieces.append(chunk.content)
        if len(pieces) == 5:
            cancel.set()
    assert 5 <= len(pieces) <= 6  # at most the token in flight when cancel was set


def test_closing_the_stream_stops_generation_and_frees_the_model(registry: ModelRegistry) -> None:
    stream = registry.chat_model(NAME).stream([HumanMessage("Count from one to one hundred.")], max_tokens=200)
    for _, _chunk in zip(range(3), stream, strict=False):
        pass
    stream.close()
    # The model's lock was released: the next turn runs at once.
    assert "Paris" in complete(registry.chat_model(NAME), "What is the capital of France?", max_tokens=16).text


def test_a_prompt_far_longer_than_the_context_is_fitted_not_fatal(registry: ModelRegistry) -> None:
    filler = "The quick brown fox jumps over the lazy dog. " * 2000  # ~20k tokens into a 1,024-token window
    reply = registry.chat_model(NAME).invoke([SystemMessage("Answer briefly."), HumanMessage(filler + "\nSay hi.")])
    assert isinstance(reply, AIMessage)
    context = reply.response_metadata["context"]
    assert context["trimmed_tokens"] > 15_000
    assert reply.usage_metadata is not None and reply.usage_metadata["input_tokens"] <= 1024


def test_stop_sequences_cut_the_answer(registry: ModelRegistry) -> None:
    reply = registry.chat_model(NAME).invoke([HumanMessage("List the numbers 1, 2, 3, 4, 5 separated by commas.")],
                                             stop=["3"])
    assert isinstance(reply, AIMessage)
    assert "3" not in str(reply.content) and "4" not in str(reply.content)
    assert reply.response_metadata["finish_reason"] == "stop"


def test_a_required_tool_call_is_constrained_to_a_valid_call(registry: ModelRegistry) -> None:
    def get_weather(city: str, days: int = 1) -> str:
        """Weather forecast for a city."""
        return "sunny"

    model = registry.chat_model(NAME).bind_tools([get_weather], tool_choice="any")
    reply = model.invoke([HumanMessage("What will the weather be in Oslo for the next 3 days?")])
    assert isinstance(reply, AIMessage)
    assert len(reply.tool_calls) == 1
    call = reply.tool_calls[0]
    assert call["name"] == "get_weather"
    assert call["args"]["city"] == "Oslo"
    assert reply.response_metadata["finish_reason"] == "tool_calls"


def test_status_reports_the_device_that_really_ran(registry: ModelRegistry) -> None:
    status = registry.status(NAME)
    assert status.status == "ready"
    assert status.execution_provider == registry.runtime(registry.spec(NAME)).execution_provider
    assert status.execution_provider in ("cpu", "cuda", "dml")


def test_a_missing_model_folder_is_not_installed(tmp_path: Path) -> None:
    registry = ModelRegistry([default_model.spec(tmp_path, "int8")])
    assert registry.status(NAME).status == "not_installed"
    with pytest.raises(ModelNotInstalled, match="genai_config.json"):
        registry.chat_model(NAME)


def test_install_is_idempotent_and_verifies_checksums(default_model_dir: Path) -> None:
    again = default_model.install(default_model_dir.parent, "int8")
    assert again.installed is False and again.path == default_model_dir
    assert default_model.verify(default_model_dir, full=True) == (True, "verified")


def test_a_damaged_install_is_detected(default_model_dir: Path, tmp_path: Path) -> None:
    copy = tmp_path / default_model_dir.name
    copy.mkdir()
    for file in default_model_dir.iterdir():
        (copy / file.name).symlink_to(file)
    (copy / "genai_config.json").unlink()
    ok, why = default_model.verify(copy)
    assert not ok and "genai_config.json" in why


def test_generation_never_imports_the_build_only_packages(default_model_dir: Path) -> None:
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from agents.providers import default_model\n"
        "from agents.providers.completion import complete\n"
        "from agents.providers.registry import ModelRegistry\n"
        f"registry = ModelRegistry([default_model.spec(Path({str(default_model_dir.parent)!r}))])\n"
        "print(complete(registry.chat_model('local/smollm2-135m'), 'Hi', max_tokens=4).completion_tokens)\n"
        "print(sorted(m for m in ('torch', 'transformers', 'gguf', 'accelerate') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.splitlines()[-1] == "[]"

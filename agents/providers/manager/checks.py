"""The check every new local model passes before it is registered: load it and ask a question with a known answer."""

from __future__ import annotations

from pathlib import Path

from agents.providers.errors import ModelLoadFailed
from agents.providers.genai import GenAIModel, GenerationStats, RuntimeOptions, SamplingOptions

CHECK_PROMPT = "What is the capital of France?"
CHECK_WORD = "paris"


def check_answers(path: Path, name: str, device: str = "cpu") -> str:
    """Load ``path`` on ``device`` and ask CHECK_PROMPT; the answer, or ModelLoadFailed when it is not "Paris".

    A model that cannot load, or whose answer does not name Paris, is not kept: a build or download that went wrong
    in a way no checksum sees (a wrong tokenizer, a broken conversion) is caught here, before the user meets it.
    """
    model = GenAIModel(path, RuntimeOptions(device=device), name=name)  # type: ignore[arg-type]
    system = {"role": "system", "content": "You are a helpful assistant."}
    prompt = model.chat_prompt([system, {"role": "user", "content": CHECK_PROMPT}])
    answer = "".join(model.stream(model.encode(prompt), SamplingOptions(max_new_tokens=24), GenerationStats()))
    if CHECK_WORD not in answer.lower():
        raise ModelLoadFailed(f"{name} answered {answer!r} to {CHECK_PROMPT!r}; it was not installed", model=name)
    return answer.strip()

from __future__ import annotations

from agents.providers.context import OMITTED, Tokenizer, fit

# A word-level tokenizer and a chat template that costs 2 tokens per message: enough to test the budgeting logic.
WORDS: dict[str, int] = {}


def encode(text: str) -> list[int]:
    return [WORDS.setdefault(w, len(WORDS)) for w in text.split()]


def decode(ids: list[int]) -> str:
    by_id = {v: k for k, v in WORDS.items()}
    return " ".join(by_id[i] for i in ids)


def render(messages: list[dict[str, str]]) -> str:
    return " ".join(f"<{m['role']}> {m['content']} </s>" for m in messages) + " <assistant>"


TOK = Tokenizer(render=render, encode=encode, decode=decode)


def words(n: int, tag: str) -> str:
    return " ".join(f"{tag}{i}" for i in range(n))


def test_a_conversation_that_fits_is_untouched() -> None:
    messages = [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hello there"}]
    fitted = fit(messages, TOK, context_length=100, max_new_tokens=20)
    assert fitted.prompt == render(messages)
    assert (fitted.dropped_messages, fitted.trimmed_tokens, fitted.max_new_tokens) == (0, 0, 20)


def test_oldest_turns_go_first_and_system_and_last_message_stay() -> None:
    messages = [{"role": "system", "content": "be brief"}]
    for turn in range(10):
        messages += [{"role": "user", "content": words(10, f"q{turn}_")},
                     {"role": "assistant", "content": words(10, f"a{turn}_")}]
    messages.append({"role": "user", "content": "final question"})
    fitted = fit(messages, TOK, context_length=120, max_new_tokens=30)
    assert len(fitted.prompt_ids) + fitted.max_new_tokens <= 120
    assert fitted.dropped_messages > 0 and fitted.trimmed_tokens == 0
    assert fitted.prompt.startswith("<system> be brief")
    assert "final question" in fitted.prompt
    assert "q0_0" not in fitted.prompt and "a9_0" in fitted.prompt  # newest history kept, oldest dropped


def test_one_huge_message_is_cut_in_the_middle_keeping_both_ends() -> None:
    messages = [{"role": "system", "content": "sys"}, {"role": "user", "content": words(5000, "w")}]
    fitted = fit(messages, TOK, context_length=300, max_new_tokens=50)
    assert len(fitted.prompt_ids) + fitted.max_new_tokens <= 300
    assert fitted.trimmed_tokens > 4500
    assert "w0 " in fitted.prompt and "w4999" in fitted.prompt and "w2500 " not in fitted.prompt
    assert OMITTED.split("{n}")[0].strip().split()[0] in fitted.prompt


def test_an_answer_budget_larger_than_the_window_still_leaves_room_to_answer() -> None:
    messages = [{"role": "user", "content": words(500, "x")}]
    fitted = fit(messages, TOK, context_length=200, max_new_tokens=10_000)
    assert fitted.max_new_tokens >= 16
    assert len(fitted.prompt_ids) + fitted.max_new_tokens <= 200


def test_a_tiny_window_never_raises() -> None:
    messages = [{"role": "system", "content": words(50, "s")}, {"role": "user", "content": words(50, "u")}]
    fitted = fit(messages, TOK, context_length=40, max_new_tokens=8)
    assert len(fitted.prompt_ids) + fitted.max_new_tokens <= 40
    assert fitted.max_new_tokens >= 8

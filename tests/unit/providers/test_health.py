from __future__ import annotations

import threading
from pathlib import Path

import pytest
from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage

from agents.providers.errors import (
    BadResponse,
    CircuitOpen,
    ModelLoadFailed,
    ProviderTimeout,
    ProviderUnreachable,
)
from agents.providers.fake import FakeChatModel
from agents.providers.health import CircuitBreaker
from agents.providers.limits import Limits
from agents.providers.registry import ModelRegistry
from agents.providers.spec import ModelSpec


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_breaker_opens_after_repeated_failures_then_probes_once_and_closes() -> None:
    clock = Clock()
    breaker = CircuitBreaker("srv", failures=2, reset_after_s=10, clock=clock)
    breaker.before_call()
    breaker.record_failure("boom")
    assert breaker.state == "closed"
    breaker.record_failure("boom again")
    assert breaker.state == "open"
    with pytest.raises(CircuitOpen) as raised:
        breaker.before_call()
    assert raised.value.retry_in_s == pytest.approx(10)
    assert "boom again" in str(raised.value)

    clock.now += 10
    assert breaker.state == "half_open"
    breaker.before_call()  # the one probe
    with pytest.raises(CircuitOpen):
        breaker.before_call()  # no second caller while the probe is out
    breaker.record_success()
    assert breaker.state == "closed"
    breaker.before_call()


def test_a_failed_probe_reopens_for_a_full_period() -> None:
    clock = Clock()
    breaker = CircuitBreaker("srv", failures=1, reset_after_s=5, clock=clock)
    breaker.record_failure("down")
    clock.now += 5
    breaker.before_call()
    breaker.record_failure("still down")
    assert breaker.state == "open"
    assert breaker.retry_in() == pytest.approx(5)


def registry(**limits: object) -> ModelRegistry:
    spec = ModelSpec(name="fake/m", kind="fake")
    settings = {"backoff_s": 0.0, "retries": 2, "breaker_failures": 3, **limits}
    return ModelRegistry([spec], Limits(**settings))  # type: ignore[arg-type]


def fake(reg: ModelRegistry) -> FakeChatModel:
    inner = reg.chat_model("fake/m").inner
    assert isinstance(inner, FakeChatModel)
    return inner


def test_transient_failures_before_output_are_retried() -> None:
    reg = registry()
    fake(reg).enqueue_error(ProviderUnreachable("refused")).enqueue_error(BadResponse("busy", status=503))
    fake(reg).enqueue("Paris is the capital.")
    reply = reg.chat_model("fake/m").invoke([HumanMessage("capital?")])
    assert isinstance(reply, AIMessage)
    assert reply.content == "Paris is the capital."
    assert reply.response_metadata["deskmate"]["attempts"] == 3
    assert len(fake(reg).calls) == 3
    assert reg.breaker("fake").state == "closed"


def test_a_failure_after_output_started_is_not_retried() -> None:
    reg = registry()
    fake(reg).enqueue_error(ProviderUnreachable("dropped"), after_text="one two three", after_chunks=2)
    seen = []
    with pytest.raises(ProviderUnreachable):
        for chunk in reg.chat_model("fake/m").stream([HumanMessage("go")]):
            seen.append(chunk.content)
    assert "".join(str(s) for s in seen) == "one two"
    assert len(fake(reg).calls) == 1  # a retry would repeat text the user already saw


@pytest.mark.parametrize("error", [BadResponse("bad key", status=401), ModelLoadFailed("broken folder")])
def test_permanent_failures_are_not_retried(error: Exception) -> None:
    reg = registry()
    fake(reg).enqueue_error(error)  # type: ignore[arg-type]
    with pytest.raises(type(error)):
        reg.chat_model("fake/m").invoke("hi")
    assert len(fake(reg).calls) == 1


def test_breaker_opens_after_failed_calls_and_refuses_without_calling() -> None:
    reg = registry(retries=0, breaker_failures=2)
    for _ in range(2):
        fake(reg).enqueue_error(ProviderUnreachable("down"))
        with pytest.raises(ProviderUnreachable):
            reg.chat_model("fake/m").invoke("hi")
    with pytest.raises(CircuitOpen):
        reg.chat_model("fake/m").invoke("hi")
    assert len(fake(reg).calls) == 2
    assert reg.status("fake/m").status == "circuit_open"


def test_no_first_token_within_the_deadline_is_a_timeout() -> None:
    reg = registry(first_token_timeout_s=0.05, retries=0)
    fake(reg).enqueue("slow answer here", delay_s=0.2)
    with pytest.raises(ProviderTimeout) as raised:
        reg.chat_model("fake/m").invoke("hi")
    assert raised.value.phase == "first_token"


def test_an_answer_past_the_total_deadline_is_a_timeout() -> None:
    reg = registry(first_token_timeout_s=5, total_timeout_s=0.15, retries=0)
    fake(reg).enqueue("a b c d e f g h", delay_s=0.05)
    with pytest.raises(ProviderTimeout) as raised:
        list(reg.chat_model("fake/m").stream("hi"))
    assert raised.value.phase == "total"


def test_cancel_ends_the_stream_between_chunks_without_an_error() -> None:
    reg = registry()
    fake(reg).enqueue("one two three four five six")
    cancel = threading.Event()
    got = []
    for chunk in reg.chat_model("fake/m").stream("hi", cancel=cancel):
        got.append(chunk.content)
        if len(got) == 2:
            cancel.set()
    assert "".join(str(g) for g in got) == "one two"
    assert reg.breaker("fake").state == "closed"


def test_tools_bound_through_the_guard_reach_the_provider() -> None:
    reg = registry()
    fake(reg).enqueue_tool_call("get_weather", {"city": "Oslo"})

    def get_weather(city: str) -> str:
        """Weather for a city."""
        return "sunny"

    reply = reg.chat_model("fake/m").bind_tools([get_weather]).invoke("weather in Oslo?")
    assert isinstance(reply, AIMessage)
    assert reply.tool_calls[0]["name"] == "get_weather" and reply.tool_calls[0]["args"] == {"city": "Oslo"}
    _, kwargs = fake(reg).calls[0]
    assert kwargs["tools"][0]["function"]["name"] == "get_weather"


def test_streaming_yields_pieces_in_order_and_usage_at_the_end() -> None:
    reg = registry()
    fake(reg).enqueue("alpha beta gamma")
    chunks = list(reg.chat_model("fake/m").stream("hi"))
    assert [c.content for c in chunks if c.content] == ["alpha", " beta", " gamma"]
    merged = chunks[0]
    for c in chunks[1:]:
        merged += c
    assert isinstance(merged, AIMessageChunk)
    assert merged.usage_metadata is not None and merged.usage_metadata["output_tokens"] == 3


def test_unknown_model_names_list_the_configured_ones(tmp_path: Path) -> None:
    reg = registry()
    with pytest.raises(Exception, match="configured models: fake/m"):
        reg.chat_model("nope/x")

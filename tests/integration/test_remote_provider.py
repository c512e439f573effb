"""The OpenAI-compatible provider against a real local HTTP server that misbehaves on purpose."""

from __future__ import annotations

import pytest
from langchain_core.messages import AIMessage, HumanMessage

from agents.providers.completion import complete
from agents.providers.errors import BadResponse, CircuitOpen, ProviderTimeout, ProviderUnreachable
from agents.providers.limits import Limits
from agents.providers.registry import ModelRegistry
from agents.providers.spec import ModelSpec
from tests.support.openai_server import OpenAIServer

NAME = "testsrv/test-model"


def make_registry(server: OpenAIServer, key: str | None = None, **limits: object) -> ModelRegistry:
    spec = ModelSpec(name=NAME, kind="openai", base_url=server.base_url, model="test-model", key_name="testsrv",
                     native_tools=True)
    settings = {"backoff_s": 0.01, "retries": 2, "first_token_timeout_s": 5.0, **limits}
    keys = {"testsrv": key} if key else {}
    return ModelRegistry([spec], Limits(**settings), secrets=keys.get)  # type: ignore[arg-type]


def test_streams_text_in_order_with_usage_and_sends_the_key(server: OpenAIServer) -> None:
    server.enqueue_text("Paris is the capital of France.")
    registry = make_registry(server, key="sk-test-123")
    pieces: list[str] = []
    result = complete(registry.chat_model(NAME), "Capital of France?", max_tokens=50, on_text=pieces.append)
    assert "".join(pieces) == result.text == "Paris is the capital of France."
    assert len(pieces) > 1  # it really streamed
    assert result.completion_tokens > 0 and result.prompt_tokens > 0
    assert result.execution_provider == "remote"
    assert server.chat_requests[0].authorization == "Bearer sk-test-123"
    assert server.chat_requests[0].body["stream"] is True


def test_native_tool_calls_come_back_parsed(server: OpenAIServer) -> None:
    server.enqueue_tool_call("get_weather", {"city": "Oslo", "days": 2})

    def get_weather(city: str, days: int = 1) -> str:
        """Weather forecast for a city."""
        return "sunny"

    reply = make_registry(server).chat_model(NAME).bind_tools([get_weather]).invoke([HumanMessage("Oslo?")])
    assert isinstance(reply, AIMessage)
    assert reply.tool_calls[0]["name"] == "get_weather"
    assert reply.tool_calls[0]["args"] == {"city": "Oslo", "days": 2}
    assert server.chat_requests[0].body["tools"][0]["function"]["name"] == "get_weather"


def test_server_errors_are_retried_with_backoff_then_succeed(server: OpenAIServer) -> None:
    server.behave("error", times=2, status=503)
    server.enqueue_text("third time lucky")
    reply = make_registry(server).chat_model(NAME).invoke("hi")
    assert reply.content == "third time lucky"
    assert server.hits == 3


def test_persistent_500s_raise_bad_response_and_open_the_circuit(server: OpenAIServer) -> None:
    server.behave("error", status=500, message="model crashed")
    registry = make_registry(server, retries=1, breaker_failures=2, breaker_reset_s=60)
    model = registry.chat_model(NAME)
    with pytest.raises(BadResponse, match="500: model crashed") as raised:
        model.invoke("hi")
    assert raised.value.status == 500 and raised.value.retryable
    assert server.hits == 2  # the call and its one retry
    with pytest.raises(CircuitOpen):
        model.invoke("hi")  # the second failure counted by the breaker opened it
    assert server.hits == 2  # an open circuit does not touch the server
    assert registry.status(NAME).status == "circuit_open"


def test_half_open_probe_closes_the_circuit_when_the_server_recovers(server: OpenAIServer) -> None:
    server.behave("error", times=1, status=500)
    registry = make_registry(server, retries=0, breaker_failures=1, breaker_reset_s=0.05)
    model = registry.chat_model(NAME)
    with pytest.raises(BadResponse):
        model.invoke("hi")
    assert registry.breaker("testsrv").state == "open"
    registry.breaker("testsrv")._opened_at -= 1  # type: ignore[operator]  # let the reset period pass, no sleep
    assert model.invoke("hi").content == "ok"
    assert registry.breaker("testsrv").state == "closed"


def test_an_auth_failure_is_not_retried_and_says_what_to_do(server: OpenAIServer) -> None:
    server.behave("error", status=401, message="invalid api key")
    with pytest.raises(BadResponse, match="keys set") as raised:
        make_registry(server).chat_model(NAME).invoke("hi")
    assert not raised.value.retryable
    assert server.hits == 1


def test_no_first_token_in_time_is_a_timeout(server: OpenAIServer) -> None:
    server.behave("slow_first_token", delay=3.0)
    with pytest.raises(ProviderTimeout):
        make_registry(server, first_token_timeout_s=0.3, retries=0).chat_model(NAME).invoke("hi")


def test_a_stalled_stream_is_a_timeout_after_the_text_so_far(server: OpenAIServer) -> None:
    server.enqueue_text("one two three four")
    server.behave("slow_stream", delay=3.0)
    got: list[str] = []
    with pytest.raises(ProviderTimeout):
        for chunk in make_registry(server, first_token_timeout_s=0.3).chat_model(NAME).stream("hi"):
            got.append(str(chunk.content))
    assert server.hits == 1  # text had been shown: no retry
    assert "".join(got).startswith("one")


def test_a_dropped_connection_mid_stream_is_unreachable_and_not_retried(server: OpenAIServer) -> None:
    server.enqueue_text("partial answer that never ends")
    server.behave("drop")
    with pytest.raises(ProviderUnreachable):
        list(make_registry(server).chat_model(NAME).stream("hi"))
    assert server.hits == 1


def test_a_hang_up_before_any_byte_is_retried(server: OpenAIServer) -> None:
    server.behave("hang_up", times=1)
    assert make_registry(server).chat_model(NAME).invoke("hi").content == "ok"
    assert server.hits == 2


def test_garbage_json_is_a_bad_response(server: OpenAIServer) -> None:
    server.behave("garbage")
    with pytest.raises(BadResponse, match="not a valid chat completion"):
        make_registry(server).chat_model(NAME).invoke("hi")


def test_an_unreachable_server_is_reported_by_status_and_raised_by_calls() -> None:
    spec = ModelSpec(name="gone/m", kind="openai", base_url="http://127.0.0.1:9/v1", model="m")
    registry = ModelRegistry([spec], Limits(retries=1, backoff_s=0.01))
    status = registry.status("gone/m")
    assert status.status == "unreachable" and "127.0.0.1:9" in status.detail
    with pytest.raises(ProviderUnreachable, match="cannot reach the server at http://127.0.0.1:9/v1"):
        registry.chat_model("gone/m").invoke("hi")


def test_status_of_a_reachable_server(server: OpenAIServer) -> None:
    status = make_registry(server).status(NAME)
    assert status.status == "ready" and status.execution_provider == "remote"
    assert "no API key stored" in status.detail

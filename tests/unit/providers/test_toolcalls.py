from __future__ import annotations

import json

import pytest

from agents.providers import toolcalls
from agents.providers.toolcalls import InvalidCall, ParsedCall

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather forecast for a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "days": {"type": "integer"}, "metric": {"type": "boolean"}},
            "required": ["city"],
        },
    },
}
SEARCH = {
    "type": "function",
    "function": {
        "name": "search_notes",
        "description": "Search the user's notes.",
        "parameters": {
            "type": "object",
            "properties": {"query": {"type": "string"}, "k": {"type": "integer"}},
            "required": ["query"],
            "additionalProperties": False,
        },
    },
}
TOOLS = [WEATHER, SEARCH]


def call(text: str) -> ParsedCall:
    parsed = toolcalls.parse(text, TOOLS)
    assert isinstance(parsed, ParsedCall), parsed
    return parsed


def test_well_formed_call_parses_without_repairs() -> None:
    parsed = call('{"tool": "get_weather", "arguments": {"city": "Oslo", "days": 3}}')
    assert (parsed.name, parsed.arguments, parsed.repairs) == ("get_weather", {"city": "Oslo", "days": 3}, ())
    assert parsed.id.startswith("call_")


@pytest.mark.parametrize(
    ("text", "repair"),
    [
        ('```json\n{"tool": "get_weather", "arguments": {"city": "Oslo"}}\n```', "removed a code fence"),
        ("{'tool': 'get_weather', 'arguments': {'city': 'Oslo'}}", "single quotes -> double quotes"),
        ('{"tool": "get_weather", "arguments": {"city": "Oslo",},}', "removed trailing commas"),
        ('{"tool": "get_weather", "arguments": {"city": "Oslo"', "closed missing braces"),
        ('{tool: "get_weather", arguments: {city: "Oslo"}}', "quoted bare keys"),
        ('{"tool": "get_wether", "arguments": {"city": "Oslo"}}', "tool name 'get_wether' -> 'get_weather'"),
        ('{"tool": "get_weather", "arguments": "{\\"city\\": \\"Oslo\\"}"}', "arguments given as a string"),
        ('{"tool": "get_weather", "arguments": {"city": "Oslo"}} I hope this helps!', "dropped text after the call"),
    ],
)
def test_small_model_slips_are_repaired(text: str, repair: str) -> None:
    parsed = call(text)
    assert parsed.name == "get_weather"
    assert parsed.arguments["city"] == "Oslo"
    assert repair in parsed.repairs


def test_python_literals_and_string_numbers_are_coerced() -> None:
    parsed = call("{'tool': 'get_weather', 'arguments': {'city': 'Oslo', 'days': '3', 'metric': True}}")
    assert parsed.arguments == {"city": "Oslo", "days": 3, "metric": True}
    assert "argument 'days' coerced to integer" in parsed.repairs


def test_openai_shape_is_accepted() -> None:
    text = json.dumps({"function": {"name": "search_notes", "arguments": json.dumps({"query": "tax"})}})
    assert call(text).arguments == {"query": "tax"}


def test_unknown_arguments_are_dropped_when_the_schema_forbids_them() -> None:
    parsed = call('{"tool": "search_notes", "arguments": {"query": "tax", "colour": "red"}}')
    assert parsed.arguments == {"query": "tax"}
    assert "dropped unknown argument 'colour'" in parsed.repairs


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ('{"tool": "launch_rockets", "arguments": {}}', "unknown tool 'launch_rockets'"),
        ('{"tool": "get_weather", "arguments": {"days": 2}}', "missing required argument(s): city"),
        ('{"tool": "get_weather", "arguments": {"city": "Oslo", "days": "soon"}}', "argument 'days' should be integer"),
        ('{"arguments": {"city": "Oslo"}}', 'has no "tool" name'),
        ('{"tool": "get_weather", "arguments": [1, 2]}', "arguments are not a JSON object"),
        ("{this is : not [ json", "not a JSON object"),
    ],
)
def test_calls_that_cannot_be_repaired_are_invalid_with_a_reason(text: str, error: str) -> None:
    parsed = toolcalls.parse(text, TOOLS)
    assert isinstance(parsed, InvalidCall)
    assert error in parsed.error
    assert parsed.raw == text


@pytest.mark.parametrize("text", ["The weather in Oslo is sunny.", "Sure! {not a call}", ""])
def test_plain_answers_are_not_calls(text: str) -> None:
    assert toolcalls.parse(text, TOOLS) is None


def test_looks_like_call_decides_early_whether_output_may_stream() -> None:
    assert toolcalls.looks_like_call("  {")
    assert toolcalls.looks_like_call("``")
    assert toolcalls.looks_like_call("")
    assert not toolcalls.looks_like_call("The")


def test_call_schema_admits_exactly_the_declared_tools() -> None:
    schema = toolcalls.call_schema(TOOLS)
    assert [v["properties"]["tool"]["const"] for v in schema["anyOf"]] == ["get_weather", "search_notes"]
    only = toolcalls.call_schema(TOOLS, only="search_notes")
    assert only["properties"]["tool"] == {"const": "search_notes"}
    assert only["properties"]["arguments"]["required"] == ["query"]


def test_instructions_name_every_tool_and_the_format() -> None:
    text = toolcalls.render_instructions(TOOLS)
    assert "get_weather" in text and "search_notes" in text
    assert toolcalls.CALL_FORMAT in text

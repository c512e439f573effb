"""Tool calling for models without a native tool API: the JSON call format, its schema, and parsing with repair.

A small local model is told to answer a tool request with exactly ``{"tool": NAME, "arguments": {...}}``. When a
tool must be called, decoding is constrained to that schema (see ``call_schema``); otherwise its free-form output is
parsed here, and the usual small-model slips (code fences, single quotes, trailing commas, Python literals, missing
closing braces, a near-miss tool name, numbers as strings) are repaired before validation against the tool's schema.
"""

from __future__ import annotations

import difflib
import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

CALL_FORMAT = '{"tool": "<tool name>", "arguments": {<arguments as JSON>}}'


@dataclass(frozen=True, slots=True)
class ParsedCall:
    name: str
    arguments: dict[str, Any]
    id: str = field(default_factory=lambda: f"call_{uuid.uuid4().hex[:12]}")
    repairs: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class InvalidCall:
    raw: str
    error: str
    name: str | None = None
    id: str = field(default_factory=lambda: f"call_{uuid.uuid4().hex[:12]}")


def _function(tool: dict[str, Any]) -> dict[str, Any]:
    fn = tool.get("function", tool)
    return fn if isinstance(fn, dict) else {}


def tool_names(tools: list[dict[str, Any]]) -> list[str]:
    return [str(_function(t).get("name")) for t in tools]


def render_instructions(tools: list[dict[str, Any]]) -> str:
    """The system-prompt text that teaches a model the tools and the one call format it may use."""
    lines = ["You can call these tools:"]
    for tool in tools:
        fn = _function(tool)
        params = json.dumps(fn.get("parameters", {}).get("properties", {}), separators=(",", ":"))
        lines.append(f"- {fn.get('name')}: {fn.get('description', '').strip()} Arguments: {params}")
    lines.append(
        f"To call a tool, reply with only this JSON and nothing else: {CALL_FORMAT}. "
        "Otherwise answer the user in plain text."
    )
    return "\n".join(lines)


def call_schema(tools: list[dict[str, Any]], only: str | None = None) -> dict[str, Any]:
    """A JSON schema that admits exactly one well-formed call of one of ``tools`` (or of the tool named ``only``)."""
    variants = []
    for tool in tools:
        fn = _function(tool)
        if only and fn.get("name") != only:
            continue
        parameters = fn.get("parameters") or {"type": "object", "properties": {}}
        variants.append(
            {
                "type": "object",
                "properties": {"tool": {"const": fn.get("name")}, "arguments": parameters},
                "required": ["tool", "arguments"],
                "additionalProperties": False,
            }
        )
    return variants[0] if len(variants) == 1 else {"anyOf": variants}


def looks_like_call(text: str) -> bool:
    """Whether output that has started this way may still become a tool call (so it must not stream as text)."""
    head = text.lstrip()
    if not head:
        return True
    return head[0] in "{[" or "```".startswith(head[:3]) or head.startswith("```")


def parse(text: str, tools: list[dict[str, Any]]) -> ParsedCall | InvalidCall | None:
    """The call ``text`` makes, repaired and validated; None when it is not a call attempt at all."""
    if not looks_like_call(text) or not text.strip():
        return None
    body, repairs = _extract(text)
    if body is None:
        return None
    loaded, more = _load_json(body)
    repairs += more
    if not isinstance(loaded, dict):
        return InvalidCall(raw=text, error="the tool call is not a JSON object")
    name, arguments, more = _unwrap(loaded)
    repairs += more
    if name is None:
        return InvalidCall(raw=text, error='the tool call has no "tool" name')
    known = {n: t for n, t in zip(tool_names(tools), tools, strict=True)}
    if name not in known:
        close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.75)
        lowered = {n.lower(): n for n in known}
        fixed = lowered.get(name.lower()) or (close[0] if close else None)
        if fixed is None:
            return InvalidCall(raw=text, name=name, error=f"unknown tool {name!r}; known tools: {', '.join(known)}")
        repairs += (f"tool name {name!r} -> {fixed!r}",)
        name = fixed
    schema = _function(known[name]).get("parameters") or {}
    checked, error, more = _validate(arguments, schema)
    if error:
        return InvalidCall(raw=text, name=name, error=error)
    return ParsedCall(name=name, arguments=checked, repairs=repairs + more)


def _extract(text: str) -> tuple[str | None, tuple[str, ...]]:
    repairs: tuple[str, ...] = ()
    fenced = re.search(r"```(?:json)?\s*(.*?)(?:```|$)", text, re.DOTALL)
    if fenced:
        text, repairs = fenced.group(1), ("removed a code fence",)
    start = text.find("{")
    if start < 0:
        return None, repairs
    depth, in_string, escaped = 0, False, False
    for i, ch in enumerate(text[start:], start):
        if in_string:
            escaped = ch == "\\" and not escaped
            if ch == '"' and not escaped:
                in_string = False
            continue
        if ch in "\"'":
            in_string = ch == '"'
        elif ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                tail = text[i + 1 :].strip()
                return text[start : i + 1], repairs + (("dropped text after the call",) if tail else ())
    return text[start:], repairs


def _py_literal(match: re.Match[str]) -> str:
    return {"True": "true", "False": "false"}.get(match[1], "null")


# Each repair: (what it fixes, how). Applied in order, each only when it changes something.
_REPAIRS: tuple[tuple[str, Callable[[str], str]], ...] = (
    ("single quotes -> double quotes", lambda t: t.replace("'", '"') if '"' not in t else t),
    ("quoted bare keys", lambda t: re.sub(r"([{,]\s*)([A-Za-z_][A-Za-z0-9_]*)\s*:", r'\1"\2":', t)),
    ("Python literals -> JSON", lambda t: re.sub(r"\b(True|False|None)\b", _py_literal, t)),
    ("removed trailing commas", lambda t: re.sub(r",\s*([}\]])", r"\1", t)),
    ("closed a string", lambda t: t + '"' if t.count('"') % 2 else t),
    ("closed missing braces", lambda t: t + "}" * max(0, t.count("{") - t.count("}"))),
)


def _load_json(body: str) -> tuple[Any, tuple[str, ...]]:
    try:
        return json.loads(body), ()
    except ValueError:
        pass
    repaired, repairs = body.strip(), []
    for label, fix in _REPAIRS:
        changed = fix(repaired)
        if changed != repaired:
            repaired = changed
            repairs.append(label)
    try:
        return json.loads(repaired), tuple(repairs)
    except ValueError:
        return None, tuple(repairs)


def _unwrap(loaded: dict[str, Any]) -> tuple[str | None, Any, tuple[str, ...]]:
    if isinstance(loaded.get("function"), dict):  # the OpenAI shape, which models have seen a lot
        loaded = loaded["function"]
    name = next((loaded[k] for k in ("tool", "name", "tool_name", "function") if isinstance(loaded.get(k), str)), None)
    arguments: Any = next((loaded[k] for k in ("arguments", "args", "parameters", "input") if k in loaded), {})
    repairs: tuple[str, ...] = ()
    if isinstance(arguments, str):
        parsed, more = _load_json(arguments) if arguments.strip() else ({}, ())
        arguments, repairs = parsed, ("arguments given as a string", *more)
    return name, arguments, repairs


_TYPES: dict[str, type | tuple[type, ...]] = {
    "string": str,
    "integer": int,
    "number": (int, float),
    "boolean": bool,
    "array": list,
    "object": dict,
}


def _coerce(value: Any, kind: str) -> Any:
    """Turn a near-miss into the declared type, or return the value unchanged when it cannot be done safely."""
    if kind in ("integer", "number") and isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return value
        return int(number) if kind == "integer" and number.is_integer() else number
    if kind == "boolean" and isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    if kind == "string" and isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    if kind == "array" and not isinstance(value, list):
        return [value]
    return value


def _validate(arguments: Any, schema: dict[str, Any]) -> tuple[dict[str, Any], str | None, tuple[str, ...]]:
    if not isinstance(arguments, dict):
        return {}, "the tool call's arguments are not a JSON object", ()
    properties: dict[str, Any] = schema.get("properties", {})
    result, repairs = {}, []
    for key, value in arguments.items():
        spec = properties.get(key)
        if spec is None:
            if schema.get("additionalProperties", True) is False:
                repairs.append(f"dropped unknown argument {key!r}")
                continue
            result[key] = value
            continue
        kind = spec.get("type")
        if isinstance(kind, str) and kind in _TYPES:
            coerced = _coerce(value, kind)
            expected = _TYPES[kind]
            if not isinstance(coerced, expected) or (kind in ("integer", "number") and isinstance(coerced, bool)):
                return {}, f"argument {key!r} should be {kind}, got {type(value).__name__}", ()
            if coerced is not value and coerced != value:
                repairs.append(f"argument {key!r} coerced to {kind}")
            value = coerced
        if "enum" in spec and value not in spec["enum"]:
            return {}, f"argument {key!r} must be one of {spec['enum']}", ()
        result[key] = value
    missing = [k for k in schema.get("required", []) if k not in result]
    if missing:
        return {}, f"missing required argument(s): {', '.join(missing)}", ()
    return result, None, tuple(repairs)

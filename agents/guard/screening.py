"""Screening: the injection guard applied to what the model reads in a turn (chunks, remembered facts, tool results).

A suspicious text is not dropped: it may well hold the answer. It goes to the model fenced as untrusted data
(resources/prompts/untrusted.toml), still numbered and citable, and the turn records a warning (path and reasons)
that the runner reports and that makes every side effect in the turn ask the user (agents/toolset.py). A remembered
fact is screened each time it is recalled: a flagged one leaves the system prompt for a fence in the user's message.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from langchain_core.messages import AnyMessage, ToolMessage

from agents import prompts
from agents.guard.guards import Scan
from tools.index.search import SearchHit
from tools.memory import Recalled

Screen = Callable[[str], Scan]
Warnings = list[dict[str, Any]]

# Text cannot close its own fence or pose as a chat-template token once these are taken apart.
_FENCE_LINE = re.compile(r"^.*\b(?:BEGIN|END) UNTRUSTED (?:EXCERPT|TOOL RESULT|REMEMBERED FACT)\b.*$", re.M | re.I)
_SPECIAL = re.compile(r"<\|([^|<>]{1,40})\|>")


def defang(text: str) -> str:
    """``text`` without lines that mimic the fence, chat-template tokens broken up (``<|x|>`` -> ``< |x| >``)."""
    return _SPECIAL.sub(r"< |\1| >", _FENCE_LINE.sub("[fence line removed]", text))


def merge(warnings: Warnings, source: str, reasons: Sequence[str]) -> Warnings:
    """``warnings`` with ``reasons`` added under ``source`` (one entry per source, reasons kept once, in order)."""
    out = [dict(w) for w in warnings]
    for entry in out:
        if entry["source"] == source:
            entry["reasons"] = list(dict.fromkeys([*entry["reasons"], *reasons]))
            return out
    return [*out, {"source": source, "reasons": list(reasons)}]


def screen_hits(hits: Sequence[SearchHit], screen: Screen) -> tuple[Warnings, list[str]]:
    """Warnings for the retrieved chunks, and the content hashes of those to fence."""
    warnings: Warnings = []
    flagged: list[str] = []
    for hit in hits:
        result = screen(hit.text)
        if result.suspicious:
            flagged.append(hit.chunk_hash)
            warnings = merge(warnings, hit.path, result.reasons)
    return warnings, flagged


def screen_facts(recalled: Sequence[Recalled], screen: Screen | None) -> tuple[list[dict[str, Any]], Warnings]:
    """The recalled facts as ``{"id", "text", "flagged"}``, and a warning per fact that looks like instructions."""
    facts: list[dict[str, Any]] = []
    warnings: Warnings = []
    for item in recalled:
        result = screen(item.memory.text) if screen is not None else None
        flagged = bool(result and result.suspicious)
        if result is not None and flagged:
            warnings = merge(warnings, f"remembered fact {item.memory.id}", result.reasons)
        facts.append({"id": item.memory.id, "text": item.memory.text, "flagged": flagged})
    return facts, warnings


def fenced_facts(facts: Sequence[dict[str, Any]]) -> str:
    """The flagged facts, each fenced as untrusted data ('' when none is flagged)."""
    fence = prompts.load("untrusted").parts["fact"]
    return "\n\n".join(fence.format(text=defang(f["text"])) for f in facts if f["flagged"])


def source_block(n: int, hit: SearchHit, text: str, flagged: bool) -> str:
    """Source ``n`` as the answer prompt shows it: plain, or fenced as untrusted when the guard flagged it."""
    where = f"{Path(hit.path).name}{f' p.{hit.page}' if hit.page else ''}"
    if not flagged:
        return f"[{n}] ({where})\n{text}"
    return prompts.load("untrusted").parts["source"].format(n=n, where=where, text=defang(text))


def _source_of(message: ToolMessage, calls: dict[str, dict[str, Any]]) -> str:
    args = calls.get(message.tool_call_id, {})
    target = next((str(args[k]) for k in ("path", "target", "query") if k in args), "")
    return f"{target} ({message.name})" if target else str(message.name)


def screen_results(work: Sequence[AnyMessage], screen: Screen) -> tuple[list[ToolMessage], Warnings]:
    """The latest tool results that look like instructions, fenced (same ids: they replace the originals)."""
    calls = {c["id"]: c["args"] for m in work for c in getattr(m, "tool_calls", None) or [] if c.get("id")}
    fenced: list[ToolMessage] = []
    warnings: Warnings = []
    for message in reversed(work):
        if not isinstance(message, ToolMessage):
            break  # results of earlier rounds were screened when they came in
        if message.response_metadata.get("fenced"):
            continue  # fenced by the pass after this step's reads; the side effects' pass sees it again
        text = str(message.content)
        result = screen(text)
        if not result.suspicious:
            continue
        warnings = merge(warnings, _source_of(message, calls), result.reasons)
        wrapped = prompts.load("untrusted").parts["tool_result"].format(tool=message.name, text=defang(text))
        fenced.append(ToolMessage(content=wrapped, tool_call_id=message.tool_call_id, name=message.name,
                                  id=message.id, status=message.status, response_metadata={"fenced": True}))
    return fenced, warnings


def short(source: str) -> str:
    """A warning's source as the user reads it: the file name rather than the full path."""
    return Path(source).name if "/" in source or "\\" in source else source


def caution(warnings: Warnings) -> str:
    """Why a side effect needs the user's say-so this turn ('' when the turn read nothing suspicious)."""
    if not warnings:
        return ""
    first = warnings[0]
    more = f" (and {len(warnings) - 1} more)" if len(warnings) > 1 else ""
    reason = first["reasons"][0] if first.get("reasons") else "suspicious text"
    return f"this turn read text that looks like instructions to the model: {short(first['source'])}: {reason}{more}"

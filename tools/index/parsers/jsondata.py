"""JSON and JSON Lines files: values flattened to "a.b[0].c: value" lines, grouped into blocks."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tools.index.document import Block, ParseBudget, ParsedDocument, ParseError
from tools.index.parsers.decoding import check_chars, read_text
from tools.index.parsers.lines import LineIndex

LINES_PER_BLOCK = 50


def _scalar(value: Any) -> str:
    if isinstance(value, str):
        return " ".join(value.split())
    if isinstance(value, dict):
        return "{}"
    if isinstance(value, list):
        return "[]"
    return json.dumps(value)


def flatten(value: Any, prefix: str = "") -> list[str]:
    """Each leaf of ``value`` as one "path: value" line, in document order."""
    lines: list[str] = []
    # An explicit stack: JSON nests as deep as the decoder allows, deeper than comfortable recursion.
    stack: list[tuple[str, Any]] = [(prefix, value)]
    while stack:
        path, node = stack.pop()
        if isinstance(node, dict) and node:
            children = [(f"{path}.{key}" if path else str(key), child) for key, child in node.items()]
        elif isinstance(node, list) and node:
            children = [(f"{path}[{position}]", child) for position, child in enumerate(node)]
        else:
            lines.append(f"{path}: {_scalar(node)}" if path else _scalar(node))
            continue
        stack.extend(reversed(children))
    return lines


def _loads(text: str, line: int | None = None) -> Any:
    """Decode JSON; ``line`` is the file line a JSON Lines record came from, for the error message."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        at = f"line {error.lineno if line is None else line}, column {error.colno}"
        raise ParseError(f"invalid JSON at {at}: {error.msg}") from error
    except RecursionError as error:
        raise ParseError("JSON nested too deeply") from error


class _Budgeted:
    """Adds blocks while keeping the flattened text, which can outgrow the source, within the budget."""

    def __init__(self, budget: ParseBudget) -> None:
        self._budget = budget
        self._chars = 0
        self.blocks: list[Block] = []

    def add(self, block: Block) -> None:
        self._chars += len(block.text)
        check_chars(self._chars, self._budget)
        self.blocks.append(block)


def _parse_json(text: str, budget: ParseBudget) -> list[Block]:
    data = _loads(text)
    out = _Budgeted(budget)
    if isinstance(data, dict):
        # One section per top-level key: the key is the natural heading for what lies below it.
        for key, value in data.items():
            lines = flatten(value, str(key))
            for start in range(0, len(lines), LINES_PER_BLOCK):
                out.add(Block(text="\n".join(lines[start : start + LINES_PER_BLOCK]), heading_path=(str(key),)))
    else:
        lines = flatten(data)
        for start in range(0, len(lines), LINES_PER_BLOCK):
            out.add(Block(text="\n".join(lines[start : start + LINES_PER_BLOCK])))
    return out.blocks


def _parse_lines(text: str, budget: ParseBudget) -> list[Block]:
    index = LineIndex(text)
    out = _Budgeted(budget)
    for line_no, line in enumerate(index.lines):
        if not line.strip():
            continue
        record = _loads(line, line_no + 1)
        span = index.block(line_no, line_no)
        out.add(
            Block(
                text="\n".join(flatten(record)),
                line_start=span.line_start,
                line_end=span.line_end,
                char_start=span.char_start,
                char_end=span.char_end,
            )
        )
    return out.blocks


def parse(path: Path, budget: ParseBudget, file_type: str) -> ParsedDocument:
    """Parse JSON (``file_type`` "json") or JSON Lines ("jsonl"); the title is the file name without extension."""
    text = read_text(path, budget)
    if not text.strip():
        return ParsedDocument(title=path.stem, file_type=file_type)
    blocks = _parse_lines(text, budget) if file_type == "jsonl" else _parse_json(text, budget)
    return ParsedDocument(title=path.stem, file_type=file_type, blocks=blocks)

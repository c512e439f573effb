"""Python source split with the ``ast`` module: one block per top-level definition, module code in between."""

from __future__ import annotations

import ast
import warnings

from tools.index.document import Block
from tools.index.parsers.lines import LineIndex

_DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def _label(node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> str:
    if isinstance(node, ast.ClassDef):
        return f"class {node.name}"
    if isinstance(node, ast.AsyncFunctionDef):
        return f"async def {node.name}"
    return f"def {node.name}"


def _parse(text: str) -> ast.Module | None:
    try:
        # Invalid escape sequences in the user's code are their business; a warning here would only be noise
        # (or an error under warnings-as-errors).
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


def _module_code(index: LineIndex, first: int, last: int, glued: set[int]) -> list[Block]:
    """Blocks for module-level lines ``first..last``: blank-line groups, never cutting a statement in two."""
    blocks: list[Block] = []
    start: int | None = None
    end = first
    for line_no in range(first, last + 1):
        if index.is_blank(line_no) and line_no not in glued:
            if start is not None:
                blocks.append(index.block(start, end, kind="code"))
                start = None
        elif not index.is_blank(line_no):
            start = line_no if start is None else start
            end = line_no
    if start is not None:
        blocks.append(index.block(start, end, kind="code"))
    return blocks


def python_blocks(index: LineIndex) -> list[Block] | None:
    """Blocks for Python source, or None when it does not parse (the caller then splits it generically)."""
    tree = _parse(index.text)
    if tree is None:
        return None
    definitions: list[tuple[int, int, str]] = []
    glued: set[int] = set()
    for node in tree.body:
        last = (node.end_lineno or node.lineno) - 1
        if isinstance(node, _DEFINITIONS):
            first = min([node.lineno, *(decorator.lineno for decorator in node.decorator_list)]) - 1
            definitions.append((first, last, _label(node)))
        else:
            # Blank lines inside a multi-line statement (a long dict literal, an ``if`` block) do not end it.
            glued.update(range(node.lineno, last + 1))
    blocks: list[Block] = []
    position = 0
    for first, last, label in definitions:
        # Comments directly above a definition describe it, so they travel with it.
        while first - 1 >= position and index.lines[first - 1].lstrip().startswith("#"):
            first -= 1
        blocks.extend(_module_code(index, position, first - 1, glued))
        blocks.append(index.block(first, last, heading_path=(label,), kind="code"))
        position = last + 1
    blocks.extend(_module_code(index, position, len(index) - 1, glued))
    return blocks

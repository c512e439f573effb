"""Assertions shared by the parser tests: blocks must point at exactly the source they came from."""

from __future__ import annotations

from tools.index.document import Block


def assert_slice(source: str, block: Block) -> None:
    """Assert the block's text is exactly its line range and its character range of ``source``."""
    assert block.line_start is not None and block.line_end is not None
    assert block.char_start is not None and block.char_end is not None
    lines = source.split("\n")
    assert "\n".join(lines[block.line_start - 1 : block.line_end]) == block.text
    assert source[block.char_start : block.char_end] == block.text


def texts(blocks: list[Block]) -> list[str]:
    """The texts of ``blocks``, for compact comparisons."""
    return [block.text for block in blocks]

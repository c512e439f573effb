"""Line bookkeeping for text parsers: line offsets, blank-line paragraphs and blocks cut as exact source slices."""

from __future__ import annotations

from collections.abc import Iterator

from tools.index.document import Block, BlockKind

TITLE_MAX = 200


class LineIndex:
    """The lines of a decoded text and where each starts, so blocks can carry exact line and character positions.

    Line indexes are 0-based here; the blocks this class makes carry 1-based inclusive line numbers.
    """

    def __init__(self, text: str) -> None:
        self.text = text
        self.lines = text.split("\n")
        self.starts: list[int] = []
        offset = 0
        for line in self.lines:
            self.starts.append(offset)
            offset += len(line) + 1

    def __len__(self) -> int:
        return len(self.lines)

    def is_blank(self, index: int) -> bool:
        """Whether line ``index`` holds only whitespace."""
        return not self.lines[index].strip()

    def block(self, first: int, last: int, *, heading_path: tuple[str, ...] = (), kind: BlockKind = "text") -> Block:
        """Make the block for lines ``first..last`` (0-based, inclusive); its text is exactly that source slice."""
        start = self.starts[first]
        end = self.starts[last] + len(self.lines[last])
        return Block(
            text=self.text[start:end],
            heading_path=heading_path,
            line_start=first + 1,
            line_end=last + 1,
            char_start=start,
            char_end=end,
            kind=kind,
        )

    def paragraphs(self, first: int = 0, stop: int | None = None) -> Iterator[tuple[int, int]]:
        """Yield runs of non-blank lines within ``first..stop-1`` as ``(first, last)`` pairs, 0-based, inclusive."""
        end = len(self.lines) if stop is None else stop
        start: int | None = None
        for index in range(first, end):
            if self.is_blank(index):
                if start is not None:
                    yield start, index - 1
                    start = None
            elif start is None:
                start = index
        if start is not None:
            yield start, end - 1

    def trim(self, first: int, last: int) -> tuple[int, int] | None:
        """Shrink ``first..last`` to exclude blank lines at both ends; None when only blank lines remain."""
        while first <= last and self.is_blank(first):
            first += 1
        while last >= first and self.is_blank(last):
            last -= 1
        return (first, last) if first <= last else None


def clip_title(text: str) -> str:
    """Collapse whitespace and cap the length, so any source of a title yields a tidy one-line title."""
    return " ".join(text.split())[:TITLE_MAX].strip()


def first_line_title(text: str) -> str | None:
    """Return the first non-empty line of ``text`` as a title, or None when there is none."""
    for line in text.split("\n"):
        if line.strip():
            return clip_title(line)
    return None

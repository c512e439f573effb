"""Turning file bytes into text for the text-family parsers: size caps, binary sniffing, strict decoding, budgets."""

from __future__ import annotations

import time
from pathlib import Path

from tools.index.document import ParseBudget, ParseError

SNIFF_BYTES = 8192
_UTF8_BOM = b"\xef\xbb\xbf"
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


def over_budget(budget: ParseBudget) -> ParseError:
    """Build the error for text that does not fit the character budget."""
    return ParseError(f"file larger than the {budget.max_chars:,}-character budget")


def check_chars(count: int, budget: ParseBudget) -> None:
    """Raise when ``count`` characters of extracted text exceed the budget."""
    if count > budget.max_chars:
        raise over_budget(budget)


def require_content(path: Path, format_name: str) -> None:
    """Reject a zero-byte file for container formats, where even an empty document has structure."""
    if path.stat().st_size == 0:
        raise ParseError(f"empty file (0 bytes) is not a valid {format_name} document")


def read_bytes(path: Path, budget: ParseBudget) -> bytes:
    """Read a text file's bytes, refusing early any file too big to fit the character budget."""
    # No encoding we accept spends more than 4 bytes on a character, so a longer file cannot fit the budget;
    # stopping the read there keeps a huge file from being loaded just to be rejected.
    limit = 4 * budget.max_chars + len(_UTF8_BOM)
    with path.open("rb") as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise over_budget(budget)
    return data


def looks_binary(data: bytes) -> bool:
    """Whether ``data`` starts like a binary file: a NUL byte early on and no UTF-16 byte order mark."""
    return not data.startswith(_UTF16_BOMS) and b"\x00" in data[:SNIFF_BYTES]


def decode_text(data: bytes, budget: ParseBudget) -> str:
    """Decode UTF-8 (BOM optional) or UTF-16 (BOM required) strictly, with all newlines normalised to LF.

    Normalising newlines keeps line numbers the same as an editor shows them while making character offsets
    index one canonical text, which is what the blocks' ``char_start``/``char_end`` refer to.
    """
    if data.startswith(_UTF16_BOMS):
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError as error:
            raise ParseError(f"not valid UTF-16 text (invalid bytes at offset {error.start})") from error
    else:
        if looks_binary(data):
            raise ParseError("binary content in a text file")
        skip = len(_UTF8_BOM) if data.startswith(_UTF8_BOM) else 0
        try:
            text = data[skip:].decode("utf-8")
        except UnicodeDecodeError as error:
            raise ParseError(f"not valid UTF-8 text (invalid byte at offset {error.start + skip})") from error
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    check_chars(len(text), budget)
    return text


def read_text(path: Path, budget: ParseBudget) -> str:
    """Read and decode a text file under the budget; see :func:`decode_text`."""
    return decode_text(read_bytes(path, budget), budget)


class Deadline:
    """The parse's share of ``budget.seconds``, checked between pages or chapters of the slow formats."""

    def __init__(self, budget: ParseBudget) -> None:
        self._seconds = budget.seconds
        self._started = time.monotonic()

    def check(self) -> None:
        """Raise once the time budget is spent."""
        if time.monotonic() - self._started >= self._seconds:
            raise ParseError(f"parsing took longer than the {self._seconds:g}-second budget")


def error_detail(error: BaseException) -> str:
    """Describe a library exception in one short line, fit for a user-facing reason."""
    text = " ".join(str(error).split()) or type(error).__name__
    return text if len(text) <= 160 else text[:157] + "..."

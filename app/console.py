"""The terminal boundary: results on stdout (tables or JSON), notes and progress bars on stderr, text kept literal."""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.text import Text

if TYPE_CHECKING:
    from tools.index.knowledge import ProgressFn

# C0 and C1 control characters (ESC starts terminal escape sequences: hidden links, a changed title, a cleared
# screen) are shown as \xNN; tab and newline stay, a carriage return (Windows line ends) is dropped.
_CONTROLS: dict[int, str | None] = {c: f"\\x{c:02x}" for c in (*range(0x20), 0x7F, *range(0x80, 0xA0))}
_CONTROLS.update({0x09: "\t", 0x0A: "\n", 0x0D: None})


def printable(text: str) -> str:
    """``text`` safe to write to a terminal: control characters (escape sequences) made visible."""
    return text.translate(_CONTROLS)


def is_text(value: str) -> bool:
    """Whether ``value`` is valid text: Python turns bytes that are not UTF-8 (argv, stdin) into lone surrogates."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def shown(value: str) -> str:
    """``value`` for an error message: undecodable bytes as U+FFFD, control characters visible."""
    return printable("".join("\ufffd" if "\ud800" <= c <= "\udfff" else c for c in value))


class _LiteralConsole(Console):
    """A Console that prints strings as they are: never Rich markup, emoji codes or highlighting.

    Text from documents, the user and models is data; styles come only from Text objects the code builds (styled()).
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(markup=False, emoji=False, highlight=False, **kwargs)

    def render_str(self, text: str, **kwargs: Any) -> Text:
        return super().render_str(printable(text), **kwargs)


out = _LiteralConsole(soft_wrap=True)
err = _LiteralConsole(stderr=True)


def styled(*parts: str | tuple[str, str]) -> Text:
    """One line from plain parts and ``(text, style)`` parts, e.g. ``styled(("failed", "red"), " ", path)``.

    Every part is literal text: a style is only ever the code's, never parsed out of the data.
    """
    return Text.assemble(*(printable(p) if isinstance(p, str) else (printable(p[0]), p[1]) for p in parts))


def cell(value: object) -> Text:
    """A table cell holding ``value`` literally (a Table parses plain strings as markup)."""
    return Text(printable(str(value)))


def emit(data: Any) -> None:
    """``data`` as indented JSON on stdout (``--json`` output)."""
    json.dump(data, sys.stdout, indent=2, default=str)
    sys.stdout.write("\n")


@contextlib.contextmanager
def progress_bar(enabled: bool) -> Iterator[ProgressFn | None]:
    """A progress bar on a terminal; nothing in --json mode or when output is piped."""
    if not enabled or not err.is_terminal:
        yield None
        return
    with Progress(TextColumn("{task.description}", markup=False), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=err, transient=True) as bar:
        tasks: dict[str, Any] = {}

        def update(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total or None)
            bar.update(tasks[stage], completed=done, total=total or None)

        yield update

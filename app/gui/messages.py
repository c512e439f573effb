"""Inline messages: the label under a control that says what happened or what went wrong, and what to do next.

Also ``guarded``: a task's callback arrives later on the GUI thread, when its widget may already be gone (a dialog
closed and deleted while a model folder was loading); the callback is then dropped rather than reported as an error.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import shiboken6
from PySide6.QtCore import QObject
from PySide6.QtWidgets import QLabel

ERROR_STYLE = "color: #c62828;"  # readable on the light and the dark palette


def message_label(name: str) -> QLabel:
    """A hidden, word-wrapped label for inline messages; ``name`` is what a screen reader announces."""
    label = QLabel()
    label.setWordWrap(True)
    label.setAccessibleName(name)
    label.setVisible(False)
    return label


def set_message(label: QLabel, text: str, *, error: bool = False) -> None:
    """Show ``text`` in ``label`` (red when it is an error); an empty text hides the label."""
    label.setText(text)
    label.setStyleSheet(ERROR_STYLE if error else "")
    label.setVisible(bool(text))


def guarded(owner: QObject, callback: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """``callback``, or nothing once ``owner``'s C++ object has been deleted."""

    def call(value: Any) -> Any:
        if shiboken6.isValid(owner):
            return callback(value)
        return None

    return call

"""ActionPaletteWidget: quick ask's selected text (plain, read-only) and one button per action preset.

Also what quick ask needs around it: what Enter does with the input (``plan_input``: a ``/word`` command, a question,
or why nothing runs), the ``/word`` completer's model, and the command that pastes a result back over the selection
("Replace selection"). The selection is untrusted text: it is only ever shown as plain text, with
control and format characters (a right-to-left override, a zero-width space) written as escapes in the preview.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QMenu,
    QPlainTextEdit,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from agents.events import visible

if TYPE_CHECKING:
    from agents.presets import Preset, Presets

MAX_SELECTION = 20_000  # characters sent to an action; more is cut (the preview says so)
PREVIEW_CHARS = 2_000  # characters shown in the preview; the action still gets the whole selection
SHORTCUT_ACTIONS = 6  # Ctrl+1 .. Ctrl+6
# The shipped actions in the order users meet them elsewhere (Raycast, the OS writing tools); others follow by title.
ORDER = ("summarise", "explain", "rewrite", "fix", "translate", "reply")
# Offered in the menu of a preset whose argument is a language (any other one is typed: "/translate Welsh").
LANGUAGE_CHOICES = ("English", "German", "French", "Spanish", "Italian", "Portuguese", "Dutch", "Chinese", "Japanese")
COMMAND_ROLE = Qt.ItemDataRole.UserRole + 1


def ordered(presets: Iterable[Preset]) -> list[Preset]:
    """The presets in palette order: the shipped actions first, in ORDER, then the rest by title."""

    def rank(preset: Preset) -> tuple[int, int, str]:
        known = ORDER.index(preset.id) if preset.id in ORDER else len(ORDER)
        return known, 0 if preset.shipped else 1, preset.title.casefold()

    return sorted(presets, key=rank)


def command_text(preset: Preset, arg: str | None = None) -> str:
    """What a user types for this action: ``/translate de``."""
    return f"/{preset.word} {arg}".rstrip() if arg else f"/{preset.word}"


@dataclass(frozen=True, slots=True)
class PlannedTurn:
    """A turn to run: ``preset`` None for a question (about ``selection`` when there is one)."""

    question: str
    preset: Preset | None = None
    arg: str | None = None
    selection: str | None = None


@dataclass(frozen=True, slots=True)
class NeedsArgument:
    """The action needs an argument the user has not given: "/translate " goes into the input."""

    preset: Preset


Plan = PlannedTurn | NeedsArgument | str  # a str: why nothing runs, for the status line


def plan_action(preset: Preset, arg: str | None, selection: str, text: str = "", question: str | None = None) -> Plan:
    """Run ``preset`` on the selection, or on ``text`` (what followed the command) when there is none."""
    argument = arg.strip() if arg and arg.strip() else (preset.default_arg or None)
    target = selection or text.strip()
    if not target:
        return f"Select some text first, or type it after the command: {command_text(preset)} your text"
    if preset.arg and not argument:
        return NeedsArgument(preset)
    return PlannedTurn(question or command_text(preset, argument), preset, argument, target)


def plan_input(text: str, selection: str, presets: Presets | None) -> Plan:
    """What Enter does with the input: ``/word [arg] [text]`` runs that action, anything else is a question."""
    text = text.strip()
    if text.startswith("/") and presets is not None:
        from agents.presets import parse_command

        command = parse_command(text, presets)
        if command is not None:
            preset = command.preset
            if selection and command.text and preset.arg_choices and command.arg is None:
                return f"{command_text(preset)} takes a {preset.arg} from: {', '.join(preset.arg_choices)}."
            return plan_action(preset, command.arg, selection, command.text, question=text)
        word = text[1:].split(maxsplit=1)[0] if text[1:].strip() else ""
        if word.replace("-", "").replace("_", "").isalnum():  # a command that is not there, not a path
            words = ", ".join(command_text(p) for p in ordered(presets))
            return f"There is no action /{word}. The actions: {words}."
    return PlannedTurn(text, selection=selection or None)


def command_model(presets: Iterable[Preset]) -> QStandardItemModel:
    """The ``/word`` completer's items: shown as "/translate — Translate", completing to "/translate "."""
    model = QStandardItemModel()
    for preset in ordered(presets):
        item = QStandardItem(f"/{preset.word} — {preset.title}")
        item.setData(f"/{preset.word} ", COMMAND_ROLE)
        item.setToolTip(preset.description or preset.title)
        model.appendRow(item)
    return model


def literal(text: str) -> str:
    """``text`` for a button or a menu entry, where "&" would otherwise mark a shortcut letter."""
    return text.replace("&", "&&")


def word_count(text: str) -> int:
    return len(text.split())


def selection_caption(text: str, cut: bool = False) -> str:
    count = word_count(text)
    caption = f"Selected text, {count} word{'' if count == 1 else 's'}"
    return caption + (f" (the first {MAX_SELECTION:,} characters)" if cut else "")


def paste_command(platform: str, allowed: bool, which: Callable[[str], str | None] = shutil.which) -> list[str] | None:
    """The command that pastes the clipboard into the window that had the selection, or None where we cannot.

    Only on X11 (Qt's "xcb"), only with xdotool installed and only when the settings allow it: a synthetic Ctrl+V
    goes to whatever window has the focus, so it is opt-in. Wayland has no such thing for ordinary apps.
    """
    if not allowed or platform != "xcb":
        return None
    tool = which("xdotool")
    return [tool, "key", "--clearmodifiers", "ctrl+v"] if tool else None


def argument_choices(preset: Preset) -> list[str]:
    """The choices a preset's menu offers: its own, or a short list of languages for a language argument."""
    if preset.arg_choices:
        return list(preset.arg_choices)
    return list(LANGUAGE_CHOICES) if preset.arg == "language" else []


class ActionPaletteWidget(QWidget):
    """The selection's preview and the action buttons; hidden while there is no selection.

    ``chosen(preset, arg)``: run this action on the selection (``arg`` may be None: the preset's default applies).
    ``needs_argument(preset)``: the user wants to type the argument (e.g. another language) in the input.
    ``dropped()``: the user dropped the selection; questions go to the files again.
    """

    chosen = Signal(object, object)
    needs_argument = Signal(object)
    dropped = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Actions on the selected text")
        self.selection = ""
        self.cut = False
        self.presets: list[Preset] = []
        self.buttons: list[QToolButton] = []
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        head = QHBoxLayout()
        self.caption = QLabel("")
        self.caption.setTextFormat(Qt.TextFormat.PlainText)
        self.caption.setAccessibleName("Selected text size")
        head.addWidget(self.caption, 1)
        self.drop_button = QToolButton()
        self.drop_button.setText("✕")
        self.drop_button.setAccessibleName("Drop the selected text")
        self.drop_button.setToolTip("Drop the selected text: questions go to your files again")
        self.drop_button.clicked.connect(self._drop)
        head.addWidget(self.drop_button)
        layout.addLayout(head)
        self.preview = QPlainTextEdit()  # plain text by construction: the selection never becomes markup
        self.preview.setReadOnly(True)
        self.preview.setAccessibleName("Selected text")
        self.preview.setTabChangesFocus(True)
        self.preview.setMaximumHeight(64)
        self.preview.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        layout.addWidget(self.preview)
        self.row = QHBoxLayout()
        self.row.setSpacing(4)
        layout.addLayout(self.row)
        self.setVisible(False)

    # -- state ------------------------------------------------------------------------------------------------

    def set_selection(self, text: str) -> None:
        """Show ``text`` (cut to MAX_SELECTION characters) as the selection; "" hides the palette."""
        text = text.strip()
        self.cut = len(text) > MAX_SELECTION
        self.selection = text[:MAX_SELECTION]
        self.caption.setText(selection_caption(self.selection, self.cut) if self.selection else "")
        shown = self.selection[:PREVIEW_CHARS]
        self.preview.setPlainText(visible(shown) + ("…" if len(self.selection) > PREVIEW_CHARS else ""))
        self.setVisible(bool(self.selection))

    def set_presets(self, presets: Iterable[Preset]) -> None:
        """One button per preset, in palette order; the first six get Ctrl+1..6 (the dialog owns the shortcuts)."""
        while self.row.count():
            item = self.row.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.deleteLater()
        self.presets = ordered(presets)
        self.buttons = [self._button(preset, number) for number, preset in enumerate(self.presets, 1)]
        for button in self.buttons:
            self.row.addWidget(button)
        self.row.addStretch(1)

    def trigger(self, index: int) -> bool:
        """What Ctrl+<index+1> does: run the action with its default argument, or ask for one; False if none."""
        if not 0 <= index < len(self.presets):
            return False
        self._run(self.presets[index])
        return True

    # -- building -----------------------------------------------------------------------------------------------

    def _button(self, preset: Preset, number: int) -> QToolButton:
        button = QToolButton()
        button.setText(literal(preset.title))
        button.setAccessibleName(preset.title)
        keys = f"Ctrl+{number}: " if number <= SHORTCUT_ACTIONS else ""
        where = " (uses your files)" if preset.uses_files else ""
        button.setToolTip(f"{keys}{preset.description or preset.title}{where} — or type {command_text(preset)}")
        button.setAccessibleDescription(button.toolTip())
        button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        choices = argument_choices(preset)
        if choices or preset.arg:
            menu = QMenu(button)
            menu.setAccessibleName(f"{preset.title} choices")
            for choice in choices:
                menu.addAction(literal(choice), partial(self.chosen.emit, preset, choice))
            if preset.arg and not preset.arg_choices:  # a free argument: type any other one
                menu.addAction(f"Other {preset.arg}…", partial(self.needs_argument.emit, preset))
            button.setMenu(menu)
            # With a default the button runs it and the arrow offers the rest; without one a click opens the menu.
            button.setPopupMode(QToolButton.ToolButtonPopupMode.MenuButtonPopup if preset.default_arg
                                else QToolButton.ToolButtonPopupMode.InstantPopup)
        button.clicked.connect(partial(self._run, preset))
        return button

    def _run(self, preset: Preset, *_checked: object) -> None:
        if preset.arg and not preset.default_arg:
            self.needs_argument.emit(preset)  # "/translate " in the input: type the language, Enter
            return
        self.chosen.emit(preset, preset.default_arg or None)

    def _drop(self) -> None:
        self.set_selection("")
        self.dropped.emit()

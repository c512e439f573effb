"""The user's side of a turn: QuestionEdit (the question box's keys) and QuestionBox (a question set apart, with Edit).

QuestionEdit: Enter sends, Shift+Enter starts a new line, Esc cancels; while a completer's popup is open (``@`` file
mentions, app/gui/scope_bar.py) the keys it needs go to it. QuestionBox's Edit turns the question into an editor;
Re-ask emits the new text, and the conversation forks from that turn (app/gui/turns.py).
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QCompleter,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)


class QuestionEdit(QPlainTextEdit):
    """Enter sends, Shift+Enter starts a new line, Esc cancels; keys a completer's open popup needs go to it."""

    submitted = Signal()
    cancelled = Signal()

    def __init__(self, parent: QWidget | None = None, *, claims_escape: bool = False) -> None:
        super().__init__(parent)
        self.completer: QCompleter | None = None  # set by app/gui/scope_bar.py's MentionCompleter
        # Esc is the window's "Stop answering"; an inline editor takes it first, to cancel the edit.
        self.claims_escape = claims_escape

    def event(self, event: QEvent) -> bool:
        if (self.claims_escape and event.type() == QEvent.Type.ShortcutOverride and isinstance(event, QKeyEvent)
                and event.key() == Qt.Key.Key_Escape):
            event.accept()
            return True
        return super().event(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt's name
        popup = self.completer.popup() if self.completer is not None else None
        keys = (Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Escape, Qt.Key.Key_Tab, Qt.Key.Key_Backtab)
        if popup is not None and popup.isVisible() and event.key() in keys:
            event.ignore()  # the completer chooses (or closes) on these
            return
        shift = event.modifiers() & Qt.KeyboardModifier.ShiftModifier
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and not shift:
            self.submitted.emit()
            return
        if event.key() == Qt.Key.Key_Escape:
            self.cancelled.emit()
        super().keyPressEvent(event)


class QuestionBox(QFrame):
    """The user's question, set apart from the answer, with Edit: an inline editor whose Re-ask forks from here."""

    resubmitted = Signal(str)

    def __init__(self, question: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("question")
        self.setStyleSheet("#question { background: palette(alternate-base); border: 1px solid palette(mid);"
                           " border-radius: 8px; }")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 6)
        top = QHBoxLayout()
        who = QLabel("You")
        who.setStyleSheet("font-size: small; color: palette(placeholder-text);")
        top.addWidget(who)
        top.addStretch(1)
        self.edit_button = QPushButton("Edit")
        self.edit_button.setFlat(True)
        self.edit_button.setAccessibleName("Edit question")
        self.edit_button.setToolTip("Change this question and ask again from here; the turns after it are replaced")
        self.edit_button.setEnabled(False)  # until the turn is in the thread
        self.edit_button.clicked.connect(self.start_edit)
        top.addWidget(self.edit_button)
        layout.addLayout(top)
        self.label = QLabel(question)
        self.label.setTextFormat(Qt.TextFormat.PlainText)  # the question, a tool's name, a document's words: text
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.label.setStyleSheet("font-weight: bold;")
        self.label.setAccessibleName("Question")
        layout.addWidget(self.label)
        self.editor = QuestionEdit(claims_escape=True)
        self.editor.setAccessibleName("Edited question")
        self.editor.setFixedHeight(64)
        self.editor.submitted.connect(self.submit)
        self.editor.cancelled.connect(self.stop_edit)
        layout.addWidget(self.editor)
        buttons = QHBoxLayout()
        self.reask = QPushButton("Re-&ask")
        self.reask.setAccessibleName("Ask the edited question from here")
        self.reask.clicked.connect(self.submit)
        self.cancel = QPushButton("Cancel")
        self.cancel.setAccessibleName("Cancel editing")
        self.cancel.clicked.connect(self.stop_edit)
        buttons.addStretch(1)
        buttons.addWidget(self.reask)
        buttons.addWidget(self.cancel)
        layout.addLayout(buttons)
        self._edit_parts = (self.editor, self.reask, self.cancel)
        for part in self._edit_parts:
            part.hide()

    @property
    def editing(self) -> bool:
        return not self.editor.isHidden()

    def start_edit(self) -> None:
        self.editor.setPlainText(self.label.text())
        self.label.hide()
        for part in self._edit_parts:
            part.show()
        self.editor.setFocus()
        self.editor.selectAll()

    def stop_edit(self) -> None:
        for part in self._edit_parts:
            part.hide()
        self.label.show()

    def submit(self) -> None:
        text = self.editor.toPlainText().strip()
        if text:
            self.stop_edit()
            self.resubmitted.emit(text)

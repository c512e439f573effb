"""Above the conversation: its header (ConversationHeaderWidget: title and model picker) and the Banner (notices).

The picker lists the models the session's registry knows, the one in use selected; choosing another emits
``model_chosen`` and the main window makes it the default for the next turns (the session reopens between turns).
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QComboBox, QFrame, QHBoxLayout, QLabel, QPushButton, QWidget

TITLE_CHARS = 80
_KINDS = {"onnx": "on this computer", "openai": "over the network", "fake": "scripted (tests)"}


class Banner(QFrame):
    """A one-line notice above the chat (degraded mode, errors), with a close button."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("banner")
        self.setStyleSheet("#banner { background: #fef3c7; border: 1px solid #d97706; border-radius: 4px; }"
                           "#banner QLabel { color: #451a03; }")
        row = QHBoxLayout(self)
        row.setContentsMargins(8, 4, 4, 4)
        self.label = QLabel()
        self.label.setTextFormat(Qt.TextFormat.PlainText)  # reasons quote models and files: text, never markup
        self.label.setWordWrap(True)
        self.label.setAccessibleName("Notice")
        row.addWidget(self.label, 1)
        close = QPushButton("Dismiss")
        close.setAccessibleName("Dismiss notice")
        close.clicked.connect(self.hide)
        row.addWidget(close)
        self.hide()

    def show_message(self, text: str) -> None:
        self.label.setText(text)
        self.show()

    def add_message(self, text: str) -> None:
        """Add ``text`` below what the banner already shows (one turn can warn of two things)."""
        if self.isHidden() or not self.label.text():
            self.show_message(text)
        elif text not in self.label.text().split("\n"):
            self.show_message(f"{self.label.text()}\n{text}")


class ConversationHeaderWidget(QWidget):
    model_chosen = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        row = QHBoxLayout(self)
        row.setContentsMargins(4, 0, 4, 0)
        self.title = QLabel("New conversation")
        self.title.setTextFormat(Qt.TextFormat.PlainText)  # a question's words: text, never markup
        self.title.setAccessibleName("Conversation title")
        self.title.setStyleSheet("font-weight: bold;")
        row.addWidget(self.title, 1)
        label = QLabel("&Model:")
        self.models = QComboBox()
        self.models.setAccessibleName("Model for the next answers")
        self.models.setToolTip("The model that answers the next questions (Ctrl+M)")
        self.models.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.models.setEnabled(False)  # until the session lists its models
        label.setBuddy(self.models)
        row.addWidget(label)
        row.addWidget(self.models)
        self._current: str | None = None
        self.models.activated.connect(self._activated)

    @property
    def current(self) -> str | None:
        return self._current

    def set_title(self, text: str) -> None:
        line = " ".join(text.split()) or "New conversation"
        self.title.setText(line if len(line) <= TITLE_CHARS else line[: TITLE_CHARS - 1].rstrip() + "…")
        self.title.setToolTip(line)

    def set_models(self, models: Sequence[tuple[str, str]], current: str | None) -> None:
        """``models`` as (name, provider kind); ``current`` is selected (added when the registry does not list it)."""
        self.models.blockSignals(True)
        self.models.clear()
        names = [name for name, _kind in models]
        for name, kind in models:
            self.models.addItem(name, name)
            self.models.setItemData(self.models.count() - 1, f"{name}: {_KINDS.get(kind, kind)}",
                                    Qt.ItemDataRole.ToolTipRole)
        if current and current not in names:
            self.models.addItem(f"{current} (not configured)", current)
        self._current = current
        index = self.models.findData(current) if current else -1
        self.models.setCurrentIndex(index)
        self.models.setEnabled(self.models.count() > 0)
        self.models.blockSignals(False)

    def choose(self, name: str) -> bool:
        """Pick ``name`` as if the user chose it; False when it is not listed."""
        index = self.models.findData(name)
        if index < 0:
            return False
        self.models.setCurrentIndex(index)
        self._activated(index)
        return True

    def _activated(self, index: int) -> None:
        name = self.models.itemData(index)
        if isinstance(name, str) and name != self._current:
            self._current = name
            self.model_chosen.emit(name)

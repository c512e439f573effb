"""ServerDialog: the fields of an OpenAI-compatible server (name, base URL, model id, routing hints).

It does not validate by itself: ``submitted`` hands the fields to whoever adds the server (``add_provider`` on the
io lane, whose checks are the CLI's), which answers with ``show_error`` (the dialog stays open, nothing is lost) or
``finish`` (it closes).
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)


@dataclass(frozen=True, slots=True)
class ServerFields:
    name: str
    base_url: str
    model: str
    size: str = "small"
    speed: str = "fast"
    context: int = 8192


class ServerDialog(QDialog):
    submitted = Signal(object)  # ServerFields

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Add a server")
        self.name_edit = QLineEdit()
        self.name_edit.setPlaceholderText("ollama")
        self.name_edit.setAccessibleName("Provider name")
        self.name_edit.setToolTip("Names the provider; its API key, if it needs one, is stored under this name.")
        self.url_edit = QLineEdit()
        self.url_edit.setPlaceholderText("http://localhost:11434/v1")
        self.url_edit.setAccessibleName("Base URL")
        self.model_edit = QLineEdit()
        self.model_edit.setPlaceholderText("llama3.2:3b")
        self.model_edit.setAccessibleName("Model id")
        self.size_combo = QComboBox()
        self.size_combo.addItems(["small", "medium", "large"])
        self.size_combo.setAccessibleName("Model size")
        self.speed_combo = QComboBox()
        self.speed_combo.addItems(["fast", "medium", "slow"])
        self.speed_combo.setAccessibleName("Model speed")
        self.context_spin = QSpinBox()
        self.context_spin.setRange(256, 10_000_000)
        self.context_spin.setValue(8192)
        self.context_spin.setSuffix(" tokens")
        self.context_spin.setAccessibleName("Context length")
        self.error = QLabel()
        self.error.setWordWrap(True)
        self.error.setAccessibleName("Server error")
        self.error.setStyleSheet("color: #c62828;")
        self.error.setVisible(False)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("&Add")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)

        form = QFormLayout()
        form.addRow("&Name:", self.name_edit)
        form.addRow("Base &URL:", self.url_edit)
        form.addRow("&Model id:", self.model_edit)
        form.addRow("&Size:", self.size_combo)
        form.addRow("S&peed:", self.speed_combo)
        form.addRow("&Context:", self.context_spin)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.error)
        layout.addWidget(self.buttons)
        order = [self.name_edit, self.url_edit, self.model_edit, self.size_combo, self.speed_combo,
                 self.context_spin, self.buttons]
        for first, second in zip(order, order[1:], strict=False):
            QWidget.setTabOrder(first, second)

    def fields(self) -> ServerFields:
        return ServerFields(self.name_edit.text().strip(), self.url_edit.text().strip(), self.model_edit.text().strip(),
                            self.size_combo.currentText(), self.speed_combo.currentText(), self.context_spin.value())

    def accept(self) -> None:
        """Hand the fields over and wait for the answer (``finish`` or ``show_error``) instead of closing."""
        fields = self.fields()
        missing = [label for label, value in (("a name", fields.name), ("a base URL", fields.base_url),
                                              ("a model id", fields.model)) if not value]
        if missing:
            self.show_error(f"Give {', '.join(missing)}.")
            return
        self.error.setVisible(False)
        self.buttons.setEnabled(False)
        self.submitted.emit(fields)

    def show_error(self, text: str) -> None:
        self.buttons.setEnabled(True)
        self.error.setText(text)
        self.error.setVisible(True)

    def finish(self) -> None:
        super().accept()

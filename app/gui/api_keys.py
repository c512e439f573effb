"""ApiKeysWidget: store and delete the API keys of remote providers through the backend's SecretStore.

The keychain may block (a D-Bus call, an unlock prompt), so every operation runs on the ``io`` lane. A key is only
ever in the password field and the task that stores it: never logged, never shown, cleared once stored.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtWidgets import QComboBox, QFormLayout, QGroupBox, QHBoxLayout, QLineEdit, QPushButton, QWidget

from app.gui.backend import Backend
from app.gui.messages import guarded, message_label, set_message
from app.gui.tasks import Tasks, describe


class ApiKeysWidget(QGroupBox):
    def __init__(self, backend: Backend, tasks: Tasks, parent: QWidget | None = None) -> None:
        super().__init__("API keys", parent)
        self._backend = backend
        self._tasks = tasks
        self.key_name = QComboBox()
        self.key_name.setEditable(True)  # a key can be stored before its server is added
        self.key_name.setAccessibleName("API key name")
        self.key_edit = QLineEdit()
        self.key_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.key_edit.setAccessibleName("API key")
        self.key_edit.setPlaceholderText("stored only in the OS keychain")
        self.store_button = QPushButton("Store in &keychain")
        self.store_button.setAccessibleName("Store the API key in the keychain")
        self.delete_button = QPushButton("D&elete key")
        self.delete_button.setAccessibleName("Delete the API key from the keychain")
        self.store_button.clicked.connect(self.store_key)
        self.delete_button.clicked.connect(self.delete_key)
        self.status = message_label("API key message")

        form = QFormLayout(self)
        form.addRow("Key &name:", self.key_name)
        form.addRow("API ke&y:", self.key_edit)
        buttons = QHBoxLayout()
        buttons.addWidget(self.store_button)
        buttons.addWidget(self.delete_button)
        buttons.addStretch(1)
        form.addRow(buttons)
        form.addRow(self.status)
        self.tab_order: list[QWidget] = [self.key_name, self.key_edit, self.store_button, self.delete_button]

    def set_names(self, names: list[str]) -> None:
        """The key names the catalogue's servers use, keeping what the user typed."""
        current = self.key_name.currentText()
        self.key_name.clear()
        self.key_name.addItems(names)
        self.key_name.setCurrentText(current or (names[0] if names else ""))

    def store_key(self) -> None:
        name, value = self.key_name.currentText().strip(), self.key_edit.text()
        secrets = self._backend.secrets

        def work() -> str:
            secrets.set(name, value)
            return secrets.backend_name()  # may ask the keychain daemon: not on the GUI thread

        def done(where: str) -> None:
            self.key_edit.clear()
            set_message(self.status, f"Stored the key {name!r} in the OS keychain ({where}).")

        self._run(work, done)

    def delete_key(self) -> None:
        name = self.key_name.currentText().strip()
        secrets = self._backend.secrets

        def done(deleted: bool) -> None:
            self.key_edit.clear()
            set_message(self.status, f"Deleted the key {name!r}." if deleted else f"No key named {name!r} is stored.")

        self._run(lambda: secrets.delete(name), done)

    def _run(self, work: Callable[[], Any], done: Callable[[Any], None]) -> None:
        self.store_button.setEnabled(False)
        self.delete_button.setEnabled(False)

        def finish(handler: Callable[[Any], None]) -> Callable[[Any], None]:
            def call(value: Any) -> None:
                self.store_button.setEnabled(True)
                self.delete_button.setEnabled(True)
                handler(value)
            return call

        # KeychainUnavailable says what to start and KeychainLocked what to unlock; neither contains the key.
        failed = finish(lambda exc: set_message(self.status, describe(exc), error=True))
        self._tasks.run(work, guarded(self, finish(done)), guarded(self, failed), lane="io")

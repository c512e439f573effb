"""The Models page of the settings: the model table, default and large model, folders and servers, keys, devices.

Catalogue changes (a folder or server added, a model removed) are written at once, as the CLI writes them; the
default and large model choices wait for the dialog's Save. Slow work (loading a model folder to validate it, a
connection test, and the heavy imports of app.wiring.models) runs on the ``io`` lane; reading and writing
models.toml takes milliseconds and stays on the GUI thread.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from agents.providers import catalog, default_model
from agents.providers.spec import ModelSpec
from app.gui.api_keys import ApiKeysWidget
from app.gui.backend import Backend
from app.gui.found_models import DevicesWidget
from app.gui.messages import guarded, message_label, set_message
from app.gui.server_dialog import ServerDialog, ServerFields
from app.gui.tasks import Tasks, describe

NO_LARGE = "none"
_KINDS = {"onnx": "local", "openai": "server", "fake": "scripted"}


class ModelsPageWidget(QWidget):
    """``catalog_changed`` fires after models.toml was written (the session must reopen to see it)."""

    catalog_changed = Signal()

    def __init__(self, backend: Backend, tasks: Tasks, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._backend = backend
        self._tasks = tasks
        self.server_dialog: ServerDialog | None = None
        self._specs: list[ModelSpec] = []

        self.table = QTableWidget(0, 3)
        self.table.setHorizontalHeaderLabels(["Name", "Kind", "Where"])
        self.table.setAccessibleName("Models")
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self.table.verticalHeader().setVisible(False)
        self.table.itemSelectionChanged.connect(self._selected)

        self.add_folder_button = QPushButton("Add model &folder…")
        self.add_server_button = QPushButton("Add &server…")
        self.remove_button = QPushButton("Remo&ve")
        self.test_button = QPushButton("Test &connection")
        for button, name in ((self.add_folder_button, "Add a local model folder"),
                             (self.add_server_button, "Add an OpenAI-compatible server"),
                             (self.remove_button, "Remove the selected model"),
                             (self.test_button, "Test the selected model")):
            button.setAccessibleName(name)
        self.add_folder_button.clicked.connect(self._choose_folder)
        self.add_server_button.clicked.connect(self._open_server_dialog)
        self.remove_button.clicked.connect(self._remove_selected)
        self.test_button.clicked.connect(self.test_selected)
        self.model_message = message_label("Model message")
        self.test_status = message_label("Connection test result")

        self.default_combo = QComboBox()
        self.default_combo.setAccessibleName("Default model")
        self.large_combo = QComboBox()
        self.large_combo.setAccessibleName("Large model for hard questions")
        choices = QFormLayout()
        choices.addRow("&Default model:", self.default_combo)
        choices.addRow("&Large model (hard questions):", self.large_combo)

        self.keys = ApiKeysWidget(backend, tasks)
        self.devices = DevicesWidget(backend, tasks)

        buttons = QHBoxLayout()
        for button in (self.add_folder_button, self.add_server_button, self.remove_button, self.test_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table, 1)
        layout.addLayout(buttons)
        layout.addWidget(self.model_message)
        layout.addWidget(self.test_status)
        layout.addLayout(choices)
        layout.addWidget(self.keys)
        layout.addWidget(self.devices)
        self.tab_order = [self.table, self.add_folder_button, self.add_server_button, self.remove_button,
                          self.test_button, self.default_combo, self.large_combo, *self.keys.tab_order,
                          *self.devices.tab_order]
        self.fields = {"models.default": self.default_combo, "models.large": self.large_combo}
        self.reload()

    # -- the table and the choices -------------------------------------------------------------------------

    def reload(self) -> None:
        """Read models.toml again (a few milliseconds) and refill the table and the combos, keeping the choices."""
        paths, models = self._backend.paths, self._backend.settings.models
        builtin = default_model.spec(paths.models_dir, models.default_precision)
        try:
            self._specs = [builtin, *catalog.load(paths.models_catalog)]
        except Exception as exc:  # a hand-edited models.toml that no longer parses: say so, show the built-in
            self._specs = [builtin]
            set_message(self.model_message, describe(exc), error=True)
        self.table.setRowCount(len(self._specs))
        for row, spec in enumerate(self._specs):
            kind = "bundled" if spec.builtin else _KINDS.get(spec.kind, spec.kind)
            where = str(spec.path) if spec.path is not None else (spec.base_url or "")
            for column, text in enumerate((spec.name, kind, where)):
                item = QTableWidgetItem(text)
                item.setToolTip(text)
                self.table.setItem(row, column, item)
        default = self.default_combo.currentText() or models.default
        large = self.large_combo.currentText() or (models.large or NO_LARGE)
        names = [s.name for s in self._specs]
        self._fill(self.default_combo, [*names, *([models.default] if models.default not in names else [])], default)
        extra = [models.large] if models.large and models.large not in names else []
        self._fill(self.large_combo, [NO_LARGE, *names, *extra], large)
        self.keys.set_names(sorted({s.key_name for s in self._specs if s.key_name}))
        self._selected()

    @staticmethod
    def _fill(combo: QComboBox, names: list[str], current: str) -> None:
        combo.clear()
        combo.addItems(list(dict.fromkeys(names)))
        combo.setCurrentText(current)

    def apply(self, data: dict[str, Any]) -> None:
        """Write the page's choices into ``data``, a dump of AppSettings."""
        data["models"]["default"] = self.default_combo.currentText()
        large = self.large_combo.currentText()
        data["models"]["large"] = None if large == NO_LARGE else large

    def selected_spec(self) -> ModelSpec | None:
        row = self.table.currentRow()
        return self._specs[row] if 0 <= row < len(self._specs) and self.table.selectedItems() else None

    def select(self, name: str) -> None:
        for row, spec in enumerate(self._specs):
            if spec.name == name:
                self.table.selectRow(row)

    def _selected(self) -> None:
        spec = self.selected_spec()
        self.remove_button.setEnabled(spec is not None and not spec.builtin)
        self.test_button.setEnabled(spec is not None)
        if spec is not None and spec.key_name:
            self.keys.key_name.setCurrentText(spec.key_name)

    # -- adding and removing models ------------------------------------------------------------------------

    def _choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Choose an ONNX Runtime GenAI model folder")
        if folder:
            self.add_model_folder(Path(folder))

    def add_model_folder(self, folder: Path, name: str | None = None) -> None:
        """Validate ``folder`` by loading it on the io lane (seconds), then add it; errors show under the table."""
        name = name or "local/" + (re.sub(r"[^A-Za-z0-9._-]+", "-", folder.name).strip("-.") or "model")
        set_message(self.model_message, f"Checking {folder} (loading the model)…")
        self.add_folder_button.setEnabled(False)

        def work() -> ModelSpec:
            from app.wiring.models import add_local_model  # heavy imports, off the GUI thread

            return add_local_model(self._backend.paths, name, folder)[0]

        self._tasks.run(work, guarded(self, self._added), guarded(self, self._add_failed), lane="io")

    def _open_server_dialog(self) -> None:
        self.server_dialog = ServerDialog(self)
        self.server_dialog.submitted.connect(self.add_server)
        self.server_dialog.open()

    def add_server(self, fields: ServerFields) -> None:
        """Upsert the server's model into models.toml on the io lane; its checks' errors go back to the dialog."""
        dialog = self.server_dialog

        def work() -> ModelSpec:
            from app.wiring.models import add_provider  # heavy imports, off the GUI thread

            return add_provider(self._backend.paths, fields.name, fields.base_url, fields.model, fields.size,
                                fields.speed, fields.context)[0]

        def done(spec: ModelSpec) -> None:
            if dialog is not None:
                dialog.finish()
            self._added(spec)

        def failed(exc: BaseException) -> None:
            if dialog is not None and dialog.isVisible():
                dialog.show_error(describe(exc))
            else:
                self._add_failed(exc)

        self._tasks.run(work, guarded(self, done), guarded(self, failed), lane="io")

    def _added(self, spec: ModelSpec) -> None:
        self.add_folder_button.setEnabled(True)
        set_message(self.model_message, f"Added {spec.name}.")
        self.reload()
        self.select(spec.name)
        self.catalog_changed.emit()

    def _add_failed(self, exc: BaseException) -> None:
        self.add_folder_button.setEnabled(True)
        set_message(self.model_message, describe(exc), error=True)

    def _remove_selected(self) -> None:
        spec = self.selected_spec()
        if spec is None or spec.builtin:
            return
        catalog.remove(self._backend.paths.models_catalog, spec.name)
        set_message(self.model_message, f"Removed {spec.name}.")
        self.reload()
        self.catalog_changed.emit()

    # -- connection test ---------------------------------------------------------------------------------------

    def test_selected(self) -> None:
        """Load or probe the selected model on the io lane; its status, detail and device show under the table."""
        spec = self.selected_spec()
        if spec is None:
            return
        backend = self._backend
        set_message(self.test_status, f"Testing {spec.name}…")
        self.test_button.setEnabled(False)

        def work() -> Any:
            from app.wiring.models import open_models

            return open_models(backend.settings, backend.paths, backend.secrets).status(spec.name, load=True)

        def done(status: Any) -> None:
            self.test_button.setEnabled(True)
            device = status.execution_provider or "nowhere"
            text = f"{status.name}: {status.status.replace('_', ' ')}, runs on {device}. {status.detail}"
            set_message(self.test_status, text, error=status.status != "ready")

        def failed(exc: BaseException) -> None:
            self.test_button.setEnabled(True)
            set_message(self.test_status, describe(exc), error=True)

        self._tasks.run(work, guarded(self, done), guarded(self, failed), lane="io")

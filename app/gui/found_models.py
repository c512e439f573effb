"""What this computer already has: running model servers, model files on disk, and the devices each part runs on.

Everything that touches the network (local ports only), the disk or a model runs on the ``io`` lane; the widgets only
show the results. The manager's modules are imported inside the tasks: they pull in huggingface_hub and httpx.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.gui.backend import Backend
from app.gui.messages import guarded, message_label, set_message
from app.gui.tasks import Tasks, describe

DETECT_TIMEOUT_S = 0.5


def human_bytes(size: int | float) -> str:
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}"
    return f"{int(size)} bytes"


def human_seconds(seconds: float) -> str:
    if seconds < 45:
        return "under a minute"
    if seconds < 90:
        return "about a minute"
    if seconds < 3600:
        return f"about {round(seconds / 60)} minutes"
    return f"about {seconds / 3600:.1f} hours"


def plain(label: QLabel) -> QLabel:
    """``label`` showing its text as typed: names and errors from servers, files and the hub are never markup."""
    label.setTextFormat(Qt.TextFormat.PlainText)
    return label


def confirm(parent: QWidget, title: str, text: str) -> bool:
    """Ask a yes/no question (tests replace this function)."""
    answer = QMessageBox.question(parent, title, text)
    return answer == QMessageBox.StandardButton.Yes


def table(name: str, headers: Sequence[str], stretch: int) -> QTableWidget:
    """A read-only, single-row-selection table; column ``stretch`` takes the spare width."""
    widget = QTableWidget(0, len(headers))
    widget.setHorizontalHeaderLabels(list(headers))
    widget.setAccessibleName(name)
    widget.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    widget.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    widget.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    widget.verticalHeader().setVisible(False)
    widget.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    widget.horizontalHeader().setSectionResizeMode(stretch, QHeaderView.ResizeMode.Stretch)
    return widget


def fill_row(widget: QTableWidget, row: int, texts: Sequence[str], tips: Sequence[str] = ()) -> None:
    """One row of plain texts; each tooltip (the text itself unless given) is escaped: Qt sniffs tooltips for HTML."""
    for column, text in enumerate(texts):
        item = QTableWidgetItem(text)
        tip = tips[column] if column < len(tips) and tips[column] else text
        item.setToolTip(f"<p>{html.escape(tip)}</p>")
        widget.setItem(row, column, item)


def selected_row(widget: QTableWidget) -> int:
    return widget.currentRow() if widget.selectedItems() else -1


def post_progress(tasks: Tasks, owner: QWidget, show: Callable[..., Any]) -> Callable[..., None]:
    """A progress callback for the io lane that calls ``show(*args)`` on the GUI thread, while ``owner`` lives."""
    call = guarded(owner, lambda args: show(*args))

    def progress(*args: Any) -> None:
        tasks.post(lambda: call(args))

    return progress


class FoundModelsWidget(QGroupBox):
    """Servers running here (each model one click to add) and model files on disk (import after an estimate).

    ``catalog_changed`` fires after models.toml was written. ``look()`` runs on first show and on "Look again".
    """

    catalog_changed = Signal()
    looked = Signal()  # both lists are filled (or their errors shown)

    def __init__(self, backend: Backend, tasks: Tasks, parent: QWidget | None = None) -> None:
        super().__init__("Found on this computer", parent)
        self._backend = backend
        self._tasks = tasks
        self.servers: list[Any] = []  # (FoundServer, model or None) per row
        self.files: list[Any] = []  # FoundModel per row
        self._busy = False
        self._looked_once = False

        self.server_table = table("Running model servers", ["Server", "Model", "Address"], 2)
        self.file_table = table("Model files on this computer", ["Source", "Name", "Format", "Size", "Import"], 4)
        self.add_button = QPushButton("A&dd")
        self.add_button.setAccessibleName("Add the selected server model")
        self.import_button = QPushButton("Imp&ort…")
        self.import_button.setAccessibleName("Import the selected model file")
        self.look_button = QPushButton("&Look again")
        self.look_button.setAccessibleName("Look again for servers and model files")
        self.add_button.clicked.connect(self.add_selected)
        self.import_button.clicked.connect(self.import_selected)
        self.look_button.clicked.connect(self.look)
        self.server_table.itemSelectionChanged.connect(self._update_buttons)
        self.file_table.itemSelectionChanged.connect(self._update_buttons)
        self.progress = QProgressBar()
        self.progress.setAccessibleName("Import progress")
        self.progress.setVisible(False)
        self.message = plain(message_label("Found models message"))

        buttons = QHBoxLayout()
        for button in (self.add_button, self.import_button, self.look_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        tables = QSplitter(Qt.Orientation.Horizontal)
        tables.addWidget(self.server_table)
        tables.addWidget(self.file_table)
        tables.setStretchFactor(0, 2)
        tables.setStretchFactor(1, 3)
        layout = QVBoxLayout(self)
        layout.addWidget(tables, 1)
        layout.addLayout(buttons)
        layout.addWidget(self.progress)
        layout.addWidget(self.message)
        self.tab_order: list[QWidget] = [self.server_table, self.file_table, self.add_button, self.import_button,
                                         self.look_button]
        self._update_buttons()

    def showEvent(self, event: Any) -> None:  # noqa: N802 - Qt's name
        super().showEvent(event)
        if not self._looked_once:
            self.look()

    # -- looking ---------------------------------------------------------------------------------------------

    def look(self) -> None:
        """Ask the configured local servers (short timeout), then scan the usual model folders; both on the io lane."""
        self._looked_once = True
        self.look_button.setEnabled(False)
        set_message(self.message, "Looking for running servers and model files…")
        servers = dict(self._backend.settings.models.detect_servers)

        def detect() -> list[Any]:
            from agents.providers.manager.discovery import detect_servers

            return detect_servers(servers, timeout_s=DETECT_TIMEOUT_S)

        def scan() -> list[Any]:
            from agents.providers.manager.discovery import scan_disk

            return scan_disk()

        self._tasks.run(detect, guarded(self, self._show_servers), guarded(self, self._servers_failed), lane="io")
        self._tasks.run(scan, guarded(self, self._show_files), guarded(self, self._files_failed), lane="io")

    def _show_servers(self, found: list[Any]) -> None:
        self.servers = [(s, m) for s in found for m in (s.models or [None])]
        self.server_table.setRowCount(len(self.servers))
        for row, (server, model) in enumerate(self.servers):
            where = server.base_url if server.error is None else f"{server.base_url}: {server.error}"
            fill_row(self.server_table, row, (server.name, model or "(no models)", where))
        self._update_buttons()

    def _servers_failed(self, exc: BaseException) -> None:
        self.servers = []
        self.server_table.setRowCount(0)
        set_message(self.message, f"Could not look for servers: {describe(exc)}", error=True)

    def _show_files(self, found: list[Any]) -> None:
        self.files = list(found)
        self.file_table.setRowCount(len(self.files))
        for row, model in enumerate(self.files):
            verdict = "yes" if model.importable else f"no: {model.reason}"
            fill_row(self.file_table, row, (model.source, model.name, model.format, human_bytes(model.size_bytes),
                                            verdict), ("", str(model.path)))
        self._looked()

    def _files_failed(self, exc: BaseException) -> None:
        self.files = []
        self.file_table.setRowCount(0)
        self._looked(f"Could not look for model files: {describe(exc)}")

    def _looked(self, error: str = "") -> None:
        self.look_button.setEnabled(True)
        if error:
            set_message(self.message, error, error=True)
        elif not self.message.styleSheet():  # keep a server error visible
            running = sum(1 for s in {id(s): s for s, _ in self.servers}.values() if s.error is None)
            set_message(self.message, f"{running} running server(s), {len(self.files)} model file(s) found.")
        self._update_buttons()
        self.looked.emit()

    def _update_buttons(self) -> None:
        row = selected_row(self.server_table)
        self.add_button.setEnabled(not self._busy and row >= 0 and self.servers[row][1] is not None)
        row = selected_row(self.file_table)
        self.import_button.setEnabled(not self._busy and row >= 0 and self.files[row].importable)

    # -- adding a server's model -------------------------------------------------------------------------------

    def add_selected(self) -> None:
        row = selected_row(self.server_table)
        if row < 0 or self.servers[row][1] is None:
            return
        server, model = self.servers[row]
        paths = self._backend.paths

        def work() -> Any:
            from app.wiring.models import add_provider

            return add_provider(paths, server.name, server.base_url, model)[0]

        def done(spec: Any) -> None:
            set_message(self.message, f"Added {spec.name}; choose it on the Models page to use it.")
            self.catalog_changed.emit()

        self._tasks.run(work, guarded(self, done), guarded(self, self._failed), lane="io")

    # -- importing a model file ----------------------------------------------------------------------------------

    def import_selected(self) -> None:
        """Plan the import (estimate of time and disk), ask, then convert and register on the io lane."""
        row = selected_row(self.file_table)
        if row < 0 or self._busy:
            return
        found = self.files[row]
        precision = self._backend.settings.models.default_precision
        models_dir = self._backend.paths.models_dir

        def plan() -> Any:
            from agents.providers.manager.importer import plan_import

            return plan_import(found.import_as or found.path, precision, None, models_dir=models_dir)

        self._set_busy(True)
        set_message(self.message, f"Estimating the import of {found.name}…")
        self._tasks.run(plan, guarded(self, self._planned), guarded(self, self._failed), lane="io")

    def _planned(self, plan: Any) -> None:
        if not plan.supported:
            self._set_busy(False)
            set_message(self.message, plan.summary(), error=True)
            return
        if not confirm(self, "Import a model", f"{plan.summary()}.\n\nImport it now?"):
            self._set_busy(False)
            set_message(self.message, "Import cancelled; nothing was changed.")
            return
        paths = self._backend.paths
        progress = post_progress(self._tasks, self, self._show_progress)

        def work() -> Any:
            from agents.providers.manager.importer import import_model

            return import_model(plan, paths.models_dir, paths.models_catalog, progress=progress)

        self.progress.setRange(0, 0)
        self.progress.setVisible(True)
        set_message(self.message, f"Importing {plan.full_name}…")
        self._tasks.run(work, guarded(self, self._imported), guarded(self, self._failed), lane="download")

    def _show_progress(self, stage: str, number: int = 0, total: int = 0, *_rest: Any) -> None:
        if total > 0:
            self.progress.setRange(0, total)
            self.progress.setValue(max(number - 1, 0))  # stage ``number`` has started, not finished
        set_message(self.message, f"{stage}…" + (f" (step {number} of {total})" if total > 0 else ""))

    def _imported(self, result: Any) -> None:
        self._set_busy(False)
        set_message(self.message, f"Imported {result.spec.name}; choose it on the Models page to use it.")
        self.catalog_changed.emit()

    def _failed(self, exc: BaseException) -> None:
        self._set_busy(False)
        set_message(self.message, describe(exc), error=True)

    def _set_busy(self, busy: bool) -> None:
        self._busy = busy
        if not busy:
            self.progress.setVisible(False)
        self._update_buttons()


class DevicesWidget(QGroupBox):
    """One line per component: the device it runs on and, when not the GPU, why. Checked on demand (loads models)."""

    checked = Signal()

    def __init__(self, backend: Backend, tasks: Tasks, parent: QWidget | None = None) -> None:
        super().__init__("Devices", parent)
        self._backend = backend
        self._tasks = tasks
        self.lines = plain(QLabel())
        self.lines.setText("Check where the embedder and the local models run (loads them: a few seconds).")
        self.lines.setWordWrap(True)
        self.lines.setAccessibleName("Devices report")
        self.check_button = QPushButton("C&heck devices")
        self.check_button.setAccessibleName("Check which device each component runs on")
        self.check_button.clicked.connect(self.check)
        layout = QHBoxLayout(self)
        layout.addWidget(self.lines, 1)
        layout.addWidget(self.check_button)
        self.tab_order: list[QWidget] = [self.check_button]

    def check(self) -> None:
        settings, paths = self._backend.settings, self._backend.paths
        self.check_button.setEnabled(False)
        self.lines.setText("Checking…")

        def work() -> list[Any]:
            from agents.providers.manager.gpu import doctor
            from app.wiring.models import open_models
            from tools.errors import ConfigError

            models, registry = settings.models, open_models(settings, paths)
            roles: list[tuple[str, Any]] = []
            for role, name in (("default", models.default), ("large", models.large)):
                try:
                    roles += [(role, registry.spec(name))] if name else []
                except ConfigError as exc:
                    roles.append((role, f"models.{role}: {exc}"))
            return doctor(paths.models_dir, roles, embedder_device=settings.embedder.device,
                          embedder_threads=settings.embedder.threads, model_device=models.device,
                          model_threads=models.threads)

        self._tasks.run(work, guarded(self, self._show), guarded(self, self._failed), lane="io")

    def _show(self, reports: list[Any]) -> None:
        self.check_button.setEnabled(True)
        self.lines.setText("\n".join(device_line(r) for r in reports) or "No components to report.")
        self.checked.emit()

    def _failed(self, exc: BaseException) -> None:
        self.check_button.setEnabled(True)
        self.lines.setText(f"Could not check the devices: {describe(exc)}")
        self.checked.emit()


GPU_STATES = {"cuda": "CUDA ready", "unusable": "CUDA unusable", "unused": "unused", "none": "none"}


def device_line(report: Any) -> str:
    """The words ``deskmate doctor`` prints for one component, without the runtime versions."""
    why = report.why_not_gpu
    if report.component == "gpu":
        card = f"{report.name}, " if report.device != "none" else ""
        return f"GPU: {card}{GPU_STATES.get(report.device, report.device)}" + (f": {why}" if why else "")
    ran = f" on {report.device}" if report.device in ("cpu", "cuda", "dml") else f": {report.device}"
    return f"{report.component}: {report.name}{ran}" + (f", not the GPU: {why}" if why else "")

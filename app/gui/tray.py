"""TrayIcon: Deskmate in the system tray: a click opens quick ask; the menu has Ask, Open, Pause indexing, Quit."""

from __future__ import annotations

from importlib import resources

from PySide6.QtCore import Signal
from PySide6.QtGui import QAction, QIcon
from PySide6.QtWidgets import QMenu, QSystemTrayIcon, QWidget


def app_icon() -> QIcon:
    with resources.as_file(resources.files("resources") / "icons" / "deskmate.svg") as path:
        return QIcon(str(path))


class TrayIcon(QSystemTrayIcon):
    ask_requested = Signal()
    open_requested = Signal()
    pause_toggled = Signal(bool)
    quit_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(app_icon(), parent)
        self.setToolTip("Deskmate: click to ask")
        self.menu = QMenu()
        self.ask_action = QAction("&Ask…", self.menu)
        self.open_action = QAction("&Open Deskmate", self.menu)
        self.pause_action = QAction("&Pause indexing", self.menu)
        self.pause_action.setCheckable(True)
        self.quit_action = QAction("&Quit", self.menu)
        for action in (self.ask_action, self.open_action, self.pause_action):
            self.menu.addAction(action)
        self.menu.addSeparator()
        self.menu.addAction(self.quit_action)
        self.setContextMenu(self.menu)
        self.ask_action.triggered.connect(self.ask_requested)
        self.open_action.triggered.connect(self.open_requested)
        self.pause_action.toggled.connect(self.pause_toggled)
        self.quit_action.triggered.connect(self.quit_requested)
        self.activated.connect(self._activated)

    def set_paused(self, paused: bool) -> None:
        """Reflect the indexing state set elsewhere (the index manager), without echoing it back."""
        self.pause_action.blockSignals(True)
        self.pause_action.setChecked(paused)
        self.pause_action.blockSignals(False)

    def _activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        if reason == QSystemTrayIcon.ActivationReason.Trigger:
            self.ask_requested.emit()
        elif reason == QSystemTrayIcon.ActivationReason.DoubleClick:
            self.open_requested.emit()

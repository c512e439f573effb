"""The desktop app's composition root: one QApplication, the main window, quick ask, the tray, the single instance.

``run_desktop`` first asks a running Deskmate (same data folder) to show itself or open quick ask; only when none
answers does it start the app. The window shows before the agent session opens (see MainWindow.open_session).
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QSystemTrayIcon

from app.gui import instance
from app.gui.backend import Backend
from app.gui.hotkey import GlobalHotkey, Registration
from app.gui.main_window import MainWindow
from app.gui.quick_ask import QuickAskDialog
from app.gui.tasks import Tasks
from app.gui.theme import apply_theme
from app.gui.tray import TrayIcon, app_icon
from app.settings import AppSettings, Paths

log = logging.getLogger(__name__)

LONG_SYNC_S = 10.0  # indexing runs at least this long end with a notification


class DesktopApp:
    """Everything the running app holds; built by ``run_desktop`` (and by the tests, with their own backend)."""

    def __init__(self, app: QApplication, backend: Backend) -> None:
        self.app = app
        self.backend = backend
        self.tasks = Tasks()
        settings = backend.settings
        apply_theme(app, settings.desktop.theme)
        self.window = MainWindow(backend, self.tasks)
        self.quick = QuickAskDialog(backend, self.tasks)
        self.tray: TrayIcon | None = None
        if QSystemTrayIcon.isSystemTrayAvailable():
            self.tray = TrayIcon()
            self.tray.ask_requested.connect(self.toggle_quick_ask)
            self.tray.open_requested.connect(self.show_main)
            self.tray.pause_toggled.connect(self.set_indexing_paused)
            self.tray.quit_requested.connect(self.quit)
            self.tray.show()
        app.setQuitOnLastWindowClosed(self.tray is None or not settings.desktop.keep_in_tray)
        self.window.quit_requested.connect(self.quit)
        self.window.session_ready.connect(self._session_ready)
        self.window.settings_changed.connect(self._settings_changed)
        self.quick.continue_in_main.connect(self._continue_in_main)
        self.quick.cite_clicked.connect(self.window.open_citation)
        self.quick.turns.finished.connect(lambda: self.window.threads.refresh())
        self.hotkey = GlobalHotkey(QApplication.platformName(), lambda: self.tasks.post(self.toggle_quick_ask))
        self.hotkey_status = Registration(False, "not registered yet")
        self.server = instance.InstanceServer(instance.server_name(backend.paths.data_dir), self.handle)
        self._sync_started: float | None = None
        self.index_refreshes = 0  # how often the index manager has shown fresh figures (for scripts and tests)
        self._index_wired = False

    def start(self, *, minimized: bool = False, quick_ask: bool = False) -> None:
        self.server.listen()
        if not minimized or self.tray is None:
            self.window.show()
        if quick_ask:
            self.quick.popup(near_cursor=False)
        self.register_hotkey()
        # After the first frame: open the index, models and LangGraph off the GUI thread.
        QTimer.singleShot(0, self.window.open_session)

    # -- actions ---------------------------------------------------------------------------------------------

    def show_main(self) -> None:
        self.window.showNormal()
        self.window.raise_()
        self.window.activateWindow()

    def toggle_quick_ask(self) -> None:
        if self.quick.isVisible():
            self.quick.close_popup()
        else:
            self.quick.popup()

    def set_indexing_paused(self, paused: bool) -> None:
        self._wire_index()
        self.window.index_dialog.widget.set_paused(paused)

    def register_hotkey(self) -> None:
        self.hotkey_status = self.hotkey.register(self.backend.settings.desktop.quick_ask_shortcut)
        if not self.hotkey_status.ok:
            log.info("quick-ask shortcut: %s", self.hotkey_status.message)

    def quit(self) -> None:
        self.window.allow_close = True
        self.hotkey.unregister()
        self.server.close()
        for turns in (self.window.turns, self.quick.turns):
            turns.stop()
        if self.tray is not None:
            self.tray.hide()
        self.window.close()
        self.quick.hide()
        self.tasks.shutdown(wait=False)
        self.backend.close()
        self.app.quit()

    # -- reactions -------------------------------------------------------------------------------------------

    def _continue_in_main(self, thread_id: object) -> None:
        self.show_main()
        if isinstance(thread_id, str):
            self.window.open_thread(thread_id)
            self.window.threads.refresh(thread_id)

    def _session_ready(self) -> None:
        self._wire_index()
        if self.backend.settings.desktop.watch_folders:
            # Through the index manager, so the one watcher it restarts on add/remove/resume keeps reporting here.
            self.window.index_dialog.widget.set_paused(False)

    def _wire_index(self) -> None:
        if self._index_wired:
            return
        self._index_wired = True
        widget = self.window.index_dialog.widget
        if self.tray is not None:
            widget.paused_changed.connect(self.tray.set_paused)
        widget.busy_changed.connect(self._index_busy)
        widget.refreshed.connect(lambda: setattr(self, "index_refreshes", self.index_refreshes + 1))
        widget.sync_finished.connect(self._index_done)
        widget.watcher_synced.connect(self._watcher_synced)

    def _watcher_synced(self, summary: str) -> None:
        self.window.statusBar().showMessage(f"Index: {summary}", 8000)
        self.window.refresh_index_summary()

    def _index_busy(self, busy: bool) -> None:
        if busy:
            self._sync_started = time.monotonic()

    def _index_done(self, summary: str) -> None:
        took = time.monotonic() - self._sync_started if self._sync_started is not None else 0.0
        self._sync_started = None
        self.window.statusBar().showMessage(f"Index: {summary}", 10000)
        self.window.refresh_index_summary()
        if took >= LONG_SYNC_S and self.tray is not None and self.backend.settings.desktop.notify_index_done:
            self.tray.showMessage("Deskmate finished indexing", summary, QSystemTrayIcon.MessageIcon.Information, 8000)

    def _settings_changed(self, sections: set[str]) -> None:
        if "desktop" in sections:
            apply_theme(self.app, self.backend.settings.desktop.theme)
            self.register_hotkey()
            self.app.setQuitOnLastWindowClosed(self.tray is None or not self.backend.settings.desktop.keep_in_tray)

    # -- requests from other launches --------------------------------------------------------------------------

    def handle(self, message: dict[str, Any]) -> dict[str, Any]:
        cmd = message["cmd"]
        if cmd == "show":
            self.show_main()
            return {"ok": True}
        if cmd == "quick-ask":
            text = message.get("text")
            selection = message.get("selection")
            self.quick.popup(text if isinstance(text, str) else None, near_cursor=False,
                             selection=selection if isinstance(selection, str) else None)
            if message.get("submit") and isinstance(text, str):
                self.quick.ask()
            return {"ok": True}
        if cmd == "ask":
            self.show_main()
            return {"ok": self.window.ask(str(message.get("text") or ""))}
        if cmd == "index-manager":
            self.window.show_index_manager()
            return {"ok": True}
        if cmd == "state":
            return {"ok": True, **self.state()}
        if cmd == "screenshot":
            return {"ok": True, "files": self.screenshots(Path(str(message.get("dir") or ".")))}
        if cmd == "quit":
            QTimer.singleShot(0, self.quit)
            return {"ok": True}
        return {"ok": False, "error": f"unknown request {cmd!r}"}

    def state(self) -> dict[str, Any]:
        geometry = self.tray.geometry() if self.tray is not None else None
        return {
            "pid": os.getpid(),
            "platform": QApplication.platformName(),
            "session_ready": self.backend.ready,
            "main_visible": self.window.isVisible(),
            "tray_available": QSystemTrayIcon.isSystemTrayAvailable(),
            "tray_visible": bool(self.tray is not None and self.tray.isVisible()),
            "tray_geometry": [geometry.x(), geometry.y(), geometry.width(), geometry.height()] if geometry else None,
            "quick_ask_visible": self.quick.isVisible(),
            "quick_ask_busy": self.quick.turns.busy,
            "quick_ask_answer": self.quick.answer.markdown_text,
            "quick_ask_sources": self.quick.sources.text(),
            "quick_ask_mode": self.quick.badge.text(),
            "quick_ask_mode_detail": self.quick.badge.toolTip(),
            "quick_ask_actions": [b.text() for b in self.quick.action_palette.buttons]
            if self.quick.action_palette.isVisible() else [],
            "main_busy": self.window.turns.busy,
            "main_turns": len(self.window.chat.turns),
            "main_answer": self.window.chat.current.answer.markdown_text if self.window.chat.current else "",
            "index_manager_visible": self._index_wired and self.window.index_dialog.isVisible(),
            "index_manager_refreshes": self.index_refreshes,
            "hotkey": {"ok": self.hotkey_status.ok, "message": self.hotkey_status.message},
        }

    def screenshots(self, folder: Path) -> list[str]:
        """PNGs of the main window, quick ask, the index manager and the whole screen (with the tray)."""
        folder.mkdir(parents=True, exist_ok=True)
        written = []
        shots: list[tuple[str, Any]] = [("main-window", self.window)]
        if self.quick.isVisible():
            shots.append(("quick-ask", self.quick))
        dialog = self.window.index_dialog
        if not dialog.isVisible():
            self.window.show_index_manager()
            self.app.processEvents()
        shots.append(("index-manager", dialog))
        for name, widget in shots:
            path = folder / f"{name}.png"
            if widget.grab().save(str(path)):
                written.append(str(path))
        screen = self.app.primaryScreen()
        if screen is not None:
            path = folder / "screen.png"
            if screen.grabWindow(0).save(str(path)):
                written.append(str(path))
        return written


def run_desktop(settings: AppSettings, paths: Paths, *, quick_ask: bool = False, minimized: bool = False,
                quick_text: str | None = None) -> int:
    """Hand the request to a running Deskmate, or start the app; returns the exit code."""
    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setApplicationName("Deskmate")
    app.setDesktopFileName("deskmate")
    name = instance.server_name(paths.data_dir)
    request: dict[str, Any] = {"cmd": "quick-ask", "text": quick_text} if quick_ask else {"cmd": "show"}
    reply = instance.send(name, request, timeout_ms=1000)
    if reply is not None:
        if not reply.get("ok"):
            print(f"deskmate: the running Deskmate refused: {reply.get('error')}", file=sys.stderr)
            return 1
        print("Deskmate is already running: " + ("quick ask is open." if quick_ask else "its window is shown."),
              file=sys.stderr)
        return 0
    app.setWindowIcon(app_icon())
    desktop = DesktopApp(app, Backend(settings, paths))
    desktop.start(minimized=minimized, quick_ask=quick_ask)
    if quick_text:
        desktop.quick.input.setText(quick_text)
    _report_ready(desktop)
    return app.exec()


def _report_ready(desktop: DesktopApp) -> None:
    """For bench/gui_startup.py: DESKMATE_READY_FILE gets the time the window first took input (epoch seconds)."""
    target = os.environ.get("DESKMATE_READY_FILE")
    if not target:
        return

    def write() -> None:
        Path(target).write_text(json.dumps({"interactive_at": time.time(), "pid": os.getpid()}), encoding="utf-8")

    QTimer.singleShot(0, write)

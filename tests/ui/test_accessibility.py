"""Keyboard and screen-reader basics for every window: names on every control, shortcuts, a notification."""

from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QApplication,
    QComboBox,
    QHeaderView,
    QLineEdit,
    QPlainTextEdit,
    QTextEdit,
    QWidget,
)

from app.gui.backend import Backend
from app.gui.desktop import DesktopApp
from app.gui.index_manager import IndexManagerDialog
from app.gui.settings_dialog import SettingsDialog
from app.gui.tasks import Tasks

CONTROLS = (QAbstractButton, QLineEdit, QPlainTextEdit, QTextEdit, QAbstractItemView, QComboBox)


def unnamed_controls(root: QWidget) -> list[str]:
    """Controls a screen reader could only call 'button' or 'edit': no accessible name and no text of their own."""
    missing = []
    for widget in root.findChildren(QWidget):
        if not isinstance(widget, CONTROLS) or not widget.isVisibleTo(root):
            continue
        if isinstance(widget, QLineEdit) and isinstance(widget.parent(), QComboBox | QAbstractItemView):
            continue  # a combo box's or a cell editor's inner line edit: named through its owner
        if isinstance(widget, QHeaderView):
            continue  # a table's header: read out with the table
        if type(widget).__name__ in ("QToolButton",) and not widget.accessibleName():
            continue  # scroll arrows and tab-bar scrollers Qt adds itself
        text = widget.text() if isinstance(widget, QAbstractButton) else ""
        if not (widget.accessibleName() or text.replace("&", "").strip()):
            missing.append(f"{type(widget).__name__} {widget.objectName()!r} in {type(widget.window()).__name__}")
    return missing


def test_every_control_has_a_name(qtbot, backend: Backend, tasks: Tasks) -> None:
    desktop = DesktopApp(QApplication.instance(), backend)  # type: ignore[arg-type]
    qtbot.addWidget(desktop.window)
    desktop.window.show()
    desktop.quick.popup(near_cursor=False)
    index = IndexManagerDialog(backend, tasks)
    settings = SettingsDialog(backend, tasks)
    for window in (index, settings):
        qtbot.addWidget(window)
        window.show()
    try:
        for root in (desktop.window, desktop.quick, index, settings):
            assert unnamed_controls(root) == [], type(root).__name__
    finally:
        desktop.hotkey.unregister()
        desktop.server.close()
        desktop.tasks.shutdown(wait=True)


def test_every_menu_action_has_a_shortcut_or_a_mnemonic(qtbot, backend: Backend, tasks: Tasks) -> None:
    from app.gui.main_window import MainWindow

    window = MainWindow(backend, tasks)
    qtbot.addWidget(window)
    actions = [a for menu in window.menuBar().findChildren(type(window.menuBar().addMenu("x")))
               for a in menu.actions() if not a.isSeparator() and a.isVisible() and a.text() != "x"]
    assert len(actions) >= 8
    for action in actions:
        assert "&" in action.text() or not action.shortcut().isEmpty(), action.text()
    shortcuts = {a.text().replace("&", ""): a.shortcut().toString() for a in actions}
    assert shortcuts["New conversation"] == "Ctrl+N" and shortcuts["Index manager…"] == "Ctrl+I"
    assert shortcuts["Stop answering"] == "Esc"


def test_the_keyboard_reaches_the_question_send_and_stop(qtbot, backend: Backend, tasks: Tasks) -> None:
    from app.gui.main_window import MainWindow

    window = MainWindow(backend, tasks)
    qtbot.addWidget(window)
    window.show()
    window.threads.search.setFocus()
    ask = next(a for a in window.findChildren(QAction) if a.shortcut().toString() == "Ctrl+L")
    ask.trigger()  # what Ctrl+L does (offscreen windows never become active, so key shortcuts are not routed)
    assert window.focusWidget() is window.input
    assert window.input.nextInFocusChain() is not None
    chain, widget = [], window.input.nextInFocusChain()
    for _ in range(30):
        chain.append(widget)
        widget = widget.nextInFocusChain()
    assert window.send_button in chain and window.stop_button in chain and window.threads.search in chain
    assert chain.index(window.send_button) < chain.index(window.stop_button) < chain.index(window.threads.search)


def test_a_long_indexing_run_ends_with_a_notification(qtbot, backend: Backend) -> None:
    desktop = DesktopApp(QApplication.instance(), backend)  # type: ignore[arg-type]
    qtbot.addWidget(desktop.window)
    shown: list[tuple[str, str]] = []

    class Tray:  # offscreen Qt has no system tray; the real one is checked in test_x11_app.py
        def showMessage(self, title: str, text: str, *args: object) -> None:  # noqa: N802
            shown.append((title, text))

        def hide(self) -> None:
            pass

    desktop.tray = Tray()  # type: ignore[assignment]
    try:
        desktop._sync_started = time.monotonic() - 1
        desktop._index_done("scanned 3 files")
        assert shown == []  # a quick sync: no interruption
        desktop._sync_started = time.monotonic() - 30
        desktop._index_done("scanned 10000 files")
        assert shown == [("Deskmate finished indexing", "scanned 10000 files")]
        backend.settings.desktop.notify_index_done = False
        desktop._sync_started = time.monotonic() - 30
        desktop._index_done("scanned 10000 files")
        assert len(shown) == 1
    finally:
        desktop.hotkey.unregister()
        desktop.server.close()
        desktop.tasks.shutdown(wait=True)


def test_closing_the_window_keeps_deskmate_in_the_tray_only_when_there_is_one(qtbot, backend: Backend,
                                                                              tasks: Tasks, tmp_path: Path) -> None:
    from app.gui.main_window import MainWindow

    window = MainWindow(backend, tasks)
    qtbot.addWidget(window)
    window.show()
    quits: list[bool] = []
    window.quit_requested.connect(lambda: quits.append(True))
    window.close()  # offscreen: no tray to live in, so closing the window quits
    assert quits == [True] and not window.isVisible()

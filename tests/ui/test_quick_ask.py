"""Quick ask: open, answer with sources, Esc closes, continue in the main window; the single-instance hand-over."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication

from agents.providers.fake import FakeChatModel
from app.gui import instance
from app.gui.backend import Backend
from app.gui.desktop import DesktopApp
from tests.conftest import REPO


@pytest.fixture
def desktop(qtbot, backend: Backend, docs: Path):  # type: ignore[no-untyped-def]
    index = backend.session().index
    index.add_root(docs)
    index.sync()
    app = QApplication.instance()
    d = DesktopApp(app, backend)  # type: ignore[arg-type]
    qtbot.addWidget(d.window)
    qtbot.addWidget(d.quick)
    with qtbot.waitSignal(d.window.session_ready, timeout=30_000):
        d.start()
    yield d
    d.hotkey.unregister()
    d.server.close()
    d.tasks.shutdown(wait=True)


def test_enter_asks_and_the_answer_comes_with_sources(qtbot, desktop: DesktopApp, fake_model: FakeChatModel) -> None:
    fake_model.enqueue("Backups are kept for thirty days [1].")
    quick = desktop.quick
    with qtbot.waitSignal(quick.shown, timeout=5_000):
        desktop.toggle_quick_ask()
    assert quick.isVisible() and quick.input.hasFocus() or quick.input.text() == ""
    qtbot.keyClicks(quick.input, "How long are backups kept?")
    with qtbot.waitSignal(quick.turns.finished, timeout=30_000):
        qtbot.keyClick(quick.input, Qt.Key.Key_Return)
    assert "thirty days" in quick.answer.toPlainText()
    assert "backup.md" in quick.sources.text() and quick.badge.text() == "model"
    qtbot.keyClick(quick, Qt.Key.Key_Escape)
    assert not quick.isVisible()


def test_continue_in_main_window_opens_the_same_thread(qtbot, desktop: DesktopApp,
                                                       fake_model: FakeChatModel) -> None:
    fake_model.enqueue("Thirty days [1].")
    quick = desktop.quick
    quick.popup("How long are backups kept?")
    with qtbot.waitSignal(quick.turns.finished, timeout=30_000):
        quick.ask()
    thread = quick.turns.thread_id
    assert thread
    quick.continue_button.click()
    qtbot.waitUntil(lambda: len(desktop.window.chat.turns) == 1, timeout=10_000)
    assert not quick.isVisible() and desktop.window.isVisible()
    assert desktop.window.turns.thread_id == thread
    assert quick.turns.thread_id is None  # the next quick question starts afresh


def test_prefill_from_the_clipboard_when_asked_for(qtbot, desktop: DesktopApp) -> None:
    QGuiApplication.clipboard().setText("passport fee")
    desktop.quick.popup()
    assert desktop.quick.input.text() == ""  # the default: no prefill
    desktop.quick.close_popup()
    desktop.backend.settings.desktop.quick_ask_prefill = "clipboard"
    desktop.quick.popup()
    assert desktop.quick.input.text() == "passport fee" and desktop.quick.input.selectedText() == "passport fee"


def test_the_popup_stays_on_screen(qtbot, desktop: DesktopApp) -> None:
    desktop.quick.popup(near_cursor=True)
    area = QGuiApplication.primaryScreen().availableGeometry()
    assert area.contains(desktop.quick.frameGeometry().topLeft())
    desktop.quick.popup(near_cursor=False)
    assert abs(desktop.quick.geometry().center().x() - area.center().x()) <= 2


def launch(qtbot, *args: str, **extra_env: str) -> subprocess.CompletedProcess[str]:
    """A second process, as a user's second launch is: it must not block this process's event loop."""
    env = {**os.environ, "PYTHONPATH": str(REPO), **extra_env}
    process = subprocess.Popen([sys.executable, *args], env=env, cwd=REPO, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    qtbot.waitUntil(lambda: process.poll() is not None, timeout=60_000)
    out, err = process.communicate()
    return subprocess.CompletedProcess(args, process.returncode, out, err)


def remote(qtbot, message: dict) -> dict:
    code = ("import json, sys; from PySide6.QtCore import QCoreApplication; from app.gui import instance; "
            "app = QCoreApplication([]); print(json.dumps(instance.send(sys.argv[1], json.loads(sys.argv[2]))))")
    result = launch(qtbot, "-c", code, instance.server_name(Path(os.environ["DESKMATE_HOME"]) / "data"),
                    json.dumps(message))
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_a_second_launch_talks_to_the_running_instance(qtbot, desktop: DesktopApp,
                                                       fake_model: FakeChatModel) -> None:
    name = instance.server_name(desktop.backend.paths.data_dir)
    assert not instance.InstanceServer(name, lambda m: {"ok": True}).listen()  # the first one holds the name
    desktop.window.hide()
    second = launch(qtbot, "-m", "app", "--quick-ask", "How long are backups kept?")
    assert second.returncode == 0 and "already running" in second.stderr
    assert desktop.quick.isVisible() and desktop.quick.input.text() == "How long are backups kept?"
    assert not desktop.window.isVisible()  # quick ask alone; the window stays hidden
    fake_model.enqueue("Thirty days [1].")
    with qtbot.waitSignal(desktop.quick.turns.finished, timeout=30_000):
        desktop.quick.ask()
    state = remote(qtbot, {"cmd": "state"})
    assert state["quick_ask_visible"] and state["session_ready"] and "Thirty days" in state["quick_ask_answer"]
    assert "backup.md" in state["quick_ask_sources"] and state["tray_available"] is False  # offscreen: no tray
    assert not state["hotkey"]["ok"] and "deskmate --quick-ask" in state["hotkey"]["message"]
    # A plain launch in a desktop session (any DISPLAY: Qt renders offscreen here) shows the running one's window.
    again = launch(qtbot, "-m", "app", DISPLAY=":0")
    assert again.returncode == 0 and "already running" in again.stderr and desktop.window.isVisible()
    bad = remote(qtbot, {"cmd": "launch-rockets"})
    assert bad["ok"] is False and "unknown request" in bad["error"]


def test_no_running_instance_means_no_reply(tmp_path: Path, qtbot) -> None:
    assert instance.send(instance.server_name(tmp_path), {"cmd": "show"}, timeout_ms=200) is None


def test_a_stale_socket_from_a_crash_is_taken_over(qtbot, tmp_path: Path) -> None:
    from PySide6.QtNetwork import QLocalServer

    name = instance.server_name(tmp_path)
    leftover = QLocalServer()
    assert leftover.listen(name)
    socket_path = leftover.fullServerName()
    leftover.close()
    Path(socket_path).touch()  # what a killed process leaves behind: the socket file, nobody listening
    server = instance.InstanceServer(name, lambda m: {"ok": True})
    assert server.listen()
    server.close()

"""The real `deskmate` process on a real X server (Xvfb) with a system-tray host (trayer).

Checks what only a real display shows: the tray icon docked in the tray, the global shortcut grabbed from the X server
(pressed with xdotool, through XTEST, like a keyboard), quick ask opened by a second `deskmate --quick-ask` and
answered by the real default model, and screenshots of the main window, quick ask and the index manager, kept under
test-artifacts/screenshots/ for a person to look at. Needs Debian's xvfb, trayer and xdotool
(packaging/ci-system-deps.sh installs them); set DESKMATE_SKIP_X11_TESTS=1 to skip.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO

SKIP_VARIABLE = "DESKMATE_SKIP_X11_TESTS"
SCREENSHOTS = REPO / "test-artifacts" / "screenshots"


def need_programs() -> None:
    if os.environ.get(SKIP_VARIABLE) == "1":
        pytest.skip(f"{SKIP_VARIABLE}=1: skipping the tests on a real X server")
    if not sys.platform.startswith("linux"):
        pytest.skip("the Xvfb tests run on Linux only")
    missing = [p for p in ("Xvfb", "trayer", "xdotool") if shutil.which(p) is None]
    if missing:
        pytest.fail(f"missing {', '.join(missing)}: run `bash packaging/ci-system-deps.sh` (Debian/Ubuntu), "
                    f"or set {SKIP_VARIABLE}=1 to skip these tests.", pytrace=False)


def wait_for(what: str, check: Callable[[], Any], timeout: float = 60.0) -> Any:
    """Poll ``check`` until it returns something truthy (another process: there is no signal to wait on)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.1)
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}", pytrace=False)


@pytest.fixture
def x_display(tmp_path: Path) -> Iterator[str]:
    need_programs()
    read, write = os.pipe()
    xvfb = subprocess.Popen(["Xvfb", "-displayfd", str(write), "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
                            pass_fds=(write,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(write)
    with os.fdopen(read) as pipe:
        number = pipe.readline().strip()
    if not number:
        xvfb.kill()
        pytest.fail("Xvfb did not start", pytrace=False)
    display = f":{number}"
    env = {**os.environ, "DISPLAY": display}
    tray = subprocess.Popen(["trayer", "--edge", "top", "--align", "right", "--widthtype", "request"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield display
    finally:
        for process in (tray, xvfb):
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()


def x_env(display: str, home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("QT_QPA_PLATFORM", "WAYLAND_DISPLAY")}
    env.update({"DISPLAY": display, "DESKMATE_HOME": str(home), "PYTHONPATH": str(REPO)})
    return env


def remote(env: dict[str, str], message: dict[str, Any]) -> dict[str, Any] | None:
    code = ("import json, sys; from pathlib import Path; from PySide6.QtCore import QCoreApplication; "
            "from app.gui import instance; app = QCoreApplication([]); "
            "name = instance.server_name(Path(sys.argv[1]) / 'data'); "
            "print(json.dumps(instance.send(name, json.loads(sys.argv[2]), timeout_ms=5000)))")
    result = subprocess.run([sys.executable, "-c", code, env["DESKMATE_HOME"], json.dumps(message)], env=env,
                            capture_output=True, text=True, timeout=60, cwd=REPO)
    assert result.returncode == 0, result.stderr
    reply = json.loads(result.stdout)
    assert reply is None or reply.get("ok") is not False or message["cmd"] not in ("state", "screenshot"), reply
    return reply  # type: ignore[no-any-return]


def test_the_real_app_docks_in_the_tray_and_quick_ask_answers(x_display: str, deskmate_home: Path, docs: Path,
                                                              linked_embedder: Path,
                                                              installed_default_model: Path) -> None:
    env = x_env(x_display, deskmate_home)
    added = subprocess.run([sys.executable, "-m", "app", "index", "add", str(docs), "--sync"], env=env,
                           capture_output=True, text=True, timeout=300, cwd=REPO)
    assert added.returncode == 0, added.stderr
    log = deskmate_home / "app-output.log"
    with log.open("w") as output:
        app = subprocess.Popen([sys.executable, "-m", "app"], env=env, cwd=REPO, stdout=output,
                               stderr=subprocess.STDOUT)
    try:
        state = wait_for("the app to open its session and dock in the tray",
                         lambda: (s := remote(env, {"cmd": "state"})) and s["session_ready"] and s["tray_visible"]
                         and s, timeout=120)
        assert state["platform"] == "xcb" and state["tray_available"] and state["main_visible"]
        x, y, width, height = state["tray_geometry"]
        assert width > 0 and height > 0 and y < 100  # docked in trayer, at the top of the screen
        assert state["hotkey"]["ok"], state["hotkey"]["message"]

        # The global shortcut, pressed like a keyboard would (XTEST): quick ask opens, and again closes it.
        subprocess.run(["xdotool", "key", "ctrl+alt+space"], env=env, check=True, timeout=30)
        wait_for("quick ask to open from the shortcut", lambda: remote(env, {"cmd": "state"})["quick_ask_visible"])
        subprocess.run(["xdotool", "key", "ctrl+alt+space"], env=env, check=True, timeout=30)
        wait_for("quick ask to close from the shortcut",
                 lambda: not remote(env, {"cmd": "state"})["quick_ask_visible"])

        # A second launch hands over to the running app instead of starting another.
        second = subprocess.run([sys.executable, "-m", "app", "--quick-ask", "How long are backups kept?"],
                                env=env, capture_output=True, text=True, timeout=120, cwd=REPO)
        assert second.returncode == 0 and "already running" in second.stderr, second.stderr
        assert remote(env, {"cmd": "state"})["quick_ask_visible"]
        assert remote(env, {"cmd": "quick-ask", "text": "How long are backups kept?", "submit": True})["ok"]
        answered = wait_for("the quick-ask answer",
                            lambda: (s := remote(env, {"cmd": "state"})) and not s["quick_ask_busy"]
                            and s["quick_ask_answer"] and s, timeout=180)
        assert "backup.md" in answered["quick_ask_sources"]
        assert answered["quick_ask_mode"] in ("local model", "from your files", "cache")
        if answered["quick_ask_mode"] == "from your files":
            assert "thirty days" in answered["quick_ask_answer"]

        # Quick ask on a selected paragraph offers the actions, and "/translate de" runs on it with the real model.
        paragraph = ("The office will be closed on Friday for the move. Please take your laptop home on Thursday "
                     "evening and bring it to the new building on Monday morning.")
        assert remote(env, {"cmd": "quick-ask", "text": "/translate de", "selection": paragraph, "submit": True})["ok"]
        translated = wait_for("the translation of the selection",
                              lambda: (s := remote(env, {"cmd": "state"})) and not s["quick_ask_busy"]
                              and s["quick_ask_answer"] and "Translate" in " ".join(s["quick_ask_actions"]) and s,
                              timeout=180)
        assert {"Summarise", "Explain"} <= {a.replace("&", "") for a in translated["quick_ask_actions"]}
        assert translated["quick_ask_sources"] == ""  # an action on the selection cites no file
        assert translated["quick_ask_mode"].lower() in ("not from your files", "no model — not from your files")
        assert "backup" not in translated["quick_ask_answer"].lower()  # never an extract from some indexed file

        # A question in the main window and the index manager with its figures, for the screenshots.
        assert remote(env, {"cmd": "ask", "text": "How much is the passport fee?"})["ok"]
        wait_for("the main window's answer", lambda: (s := remote(env, {"cmd": "state"})) and s["main_turns"] == 1
                 and not s["main_busy"], timeout=180)
        seen = remote(env, {"cmd": "state"})["index_manager_refreshes"]
        assert remote(env, {"cmd": "index-manager"})["ok"]
        wait_for("the index manager's figures",
                 lambda: remote(env, {"cmd": "state"})["index_manager_refreshes"] > seen)
        shots = remote(env, {"cmd": "screenshot", "dir": str(SCREENSHOTS)})
        assert shots is not None and shots["ok"]
        names = {Path(f).name for f in shots["files"]}
        assert {"main-window.png", "quick-ask.png", "index-manager.png", "screen.png"} <= names
        for file in shots["files"]:
            assert Path(file).stat().st_size > 2_000  # a picture, not an empty image
        assert remote(env, {"cmd": "quit"})["ok"]
        assert app.wait(timeout=60) == 0
    finally:
        if app.poll() is None:
            app.kill()
            app.wait()
    assert "Traceback" not in log.read_text(encoding="utf-8", errors="replace")


def test_a_shortcut_held_by_another_program_is_reported_as_a_conflict(x_display: str,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from Xlib import XK, X, display

    from app.gui.hotkey import GlobalHotkey

    monkeypatch.setenv("DISPLAY", x_display)
    other = display.Display(x_display)  # another program that holds Ctrl+Shift+F12
    root = other.screen().root
    code = other.keysym_to_keycode(XK.string_to_keysym("F12"))
    root.grab_key(code, X.ControlMask | X.ShiftMask, True, X.GrabModeAsync, X.GrabModeAsync)
    other.sync()
    try:
        taken = GlobalHotkey("xcb", lambda: None).register("Ctrl+Shift+F12")
        assert not taken.ok and "already taken" in taken.message
        free = GlobalHotkey("xcb", lambda: None)
        result = free.register("Ctrl+Shift+F11")
        assert result.ok, result.message
        free.unregister()
    finally:
        other.close()

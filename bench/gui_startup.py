"""Desktop app start-up to an interactive main window, and quick-ask popup latency, on a real X server (Xvfb + trayer).

Part 1, start-up: `python -m app` is spawned (pinned to two cores with `taskset -c 0,1` when the machine has them) in a
Deskmate home prepared beforehand like a returning user's: a few notes indexed, the embedder prepared, the embedded
default model linked in, one conversation. The time runs from just before the spawn until the `interactive_at`
that the app writes to DESKMATE_READY_FILE when its event loop first runs with the main window shown (goal: under
1.5 s on 2 cores); the app is then quit through its single-instance socket and the next run starts once it exited.
The baseline, interleaved run by run, is a minimal PySide6 script that shows an empty QMainWindow and writes the same
file from QTimer.singleShot(0): the floor of any Qt app here. The first launch is reported on its own (the files
are in the page cache already from the preparation: it is the first launch of the app, not a cold boot). A
breakdown times plain interpreter start-ups (spawn to exit) that import a part of what the app needs.

Part 2, quick ask: a DesktopApp is built in this process on the same display with a real Backend, and once its
session is open the popup is toggled N times exactly as a tray click does (`desktop.toggle_quick_ask()`), then N
times with the global shortcut pressed through XTEST (Ctrl+Alt+Space, the X server delivers it to the app's key
grab); each time until the popup's first paint event and until that frame was flushed (goal: visible within
150 ms). As a reference, a second launch `python -m app --quick-ask` is timed from spawn to the popup painted in the
running instance and to that launch's exit (Python start-up included).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import common

REPO = common.REPO
TASKSET = ["taskset", "-c", "0,1"] if shutil.which("taskset") and len(os.sched_getaffinity(0)) >= 2 else []
SHORTCUT_KEYS = ("Control_L", "Alt_L", "space")  # Ctrl+Alt+Space, the default quick-ask shortcut

# A returning user's few notes (also the documents gui_lag.py asks its questions about).
NOTES = {
    "passport.md": "# Passport\n\nRenewing a passport takes about three weeks. You need the old passport and two "
                   "photos. The fee is 95 euros, paid at the counter.\n",
    "backup.md": "# Backups\n\nBackups run every night at two o'clock. They are kept for thirty days on the archive "
                 "server.\n",
    "travel-policy.md": "# Travel expenses\n\nTrain tickets in second class are refunded in full. Hotel nights are "
                        "refunded up to 120 euros. Receipts must be handed in within 30 days of the trip.\n",
    "server-migration.md": "# Server migration\n\nThe database moves to the new server on 14 March. The old server "
                           "stays read-only for two weeks, then it is switched off. Ask Lena from the infrastructure "
                           "team about access.\n",
    "meeting-notes.md": "# Team meeting, 3 February\n\nThe release is planned for the end of April. Marco reviews the "
                        "budget report by Friday. The next meeting is on 17 February at ten o'clock.\n",
}

BASELINE_APP = """\
import json, os, sys, time
from pathlib import Path
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMainWindow

app = QApplication(sys.argv[:1])
window = QMainWindow()
window.resize(1100, 720)
window.show()

def ready():
    Path(os.environ["DESKMATE_READY_FILE"]).write_text(json.dumps({"interactive_at": time.time()}))
    app.quit()

QTimer.singleShot(0, ready)
sys.exit(app.exec())
"""

REMOTE = ("import json, sys; from pathlib import Path; from PySide6.QtCore import QCoreApplication; "
          "from app.gui import instance; app = QCoreApplication([]); "
          "name = instance.server_name(Path(sys.argv[1]) / 'data'); "
          "print(json.dumps(instance.send(name, json.loads(sys.argv[2]), timeout_ms=5000)))")


# -- the X server ------------------------------------------------------------------------------------------------


def _stop(process: subprocess.Popen[Any], timeout: float = 10.0) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _tray_owned(display: str) -> bool:
    """Whether a system-tray host owns the tray selection on ``display`` (Qt shows no tray icon before that)."""
    from Xlib import X
    from Xlib import display as xdisplay

    d = xdisplay.Display(display)
    try:
        return d.get_selection_owner(d.intern_atom("_NET_SYSTEM_TRAY_S0")) != X.NONE
    finally:
        d.close()


@contextlib.contextmanager
def x_server(tray: bool = True) -> Iterator[str]:
    """An Xvfb display (":N"), with trayer docked at the top as the tray host; both stopped afterwards."""
    if shutil.which("Xvfb") is None:
        raise SystemExit("Xvfb is not installed: run `bash packaging/ci-system-deps.sh` (Debian/Ubuntu)")
    processes: list[subprocess.Popen[Any]] = []
    read, write = os.pipe()
    try:
        processes.append(subprocess.Popen(
            ["Xvfb", "-displayfd", str(write), "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
            pass_fds=(write,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        os.close(write)
        write = -1
        with os.fdopen(read) as pipe:
            read = -1
            number = pipe.readline().strip()
        if not number:
            raise RuntimeError("Xvfb did not start")
        display = f":{number}"
        if tray and shutil.which("trayer"):
            processes.append(subprocess.Popen(
                ["trayer", "--edge", "top", "--align", "right", "--widthtype", "request"],
                env={**os.environ, "DISPLAY": display}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            deadline = time.monotonic() + 10
            while not _tray_owned(display) and time.monotonic() < deadline:
                time.sleep(0.05)
        yield display
    finally:
        for fd in (read, write):
            if fd >= 0:
                os.close(fd)
        for process in reversed(processes):
            _stop(process)


# -- the home ------------------------------------------------------------------------------------------------------


def app_env(display: str, home: Path, ready_file: Path | None = None) -> dict[str, str]:
    """The environment of a real launch: the xcb platform (QT_QPA_PLATFORM unset), this display and home."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("QT_QPA_PLATFORM", "WAYLAND_DISPLAY", "DESKMATE_READY_FILE")}
    env.update({"DISPLAY": display, "DESKMATE_HOME": str(home), "PYTHONPATH": str(REPO)})
    if ready_file is not None:
        env["DESKMATE_READY_FILE"] = str(ready_file)
    return env


def link_default_model(home: Path) -> Path:
    """The embedded default model (built once into .cache/models/, like the tests) linked into the home."""
    from agents.providers import default_model

    built = default_model.install(REPO / ".cache" / "models", "int8").path.resolve()
    target = home / "data" / "models" / built.name
    target.parent.mkdir(parents=True, exist_ok=True)
    if not target.exists():
        target.symlink_to(built, target_is_directory=True)
    return target


def write_notes(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in NOTES.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def prepare_home(home: Path, *, conversation: bool = True) -> None:
    """A returning user's home: notes indexed with the real embedder (prepared on the way), the model, a thread."""
    link_default_model(home)
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env.update({"DESKMATE_HOME": str(home), "PYTHONPATH": str(REPO)})
    commands = [["index", "add", str(write_notes(home / "notes")), "--sync"]]
    if conversation:
        commands.append(["ask", "How long are backups kept?"])
    for command in commands:
        done = subprocess.run([sys.executable, "-m", "app", *command], env=env, cwd=REPO, capture_output=True,
                              text=True, timeout=600, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"`deskmate {' '.join(command)}` failed:\n{done.stderr[-3000:]}")


# -- part 1: start-up ------------------------------------------------------------------------------------------------


def remote(env: dict[str, str], message: dict[str, Any]) -> dict[str, Any] | None:
    """Send ``message`` to the running app from a short-lived process (as a script would)."""
    done = subprocess.run([sys.executable, "-c", REMOTE, env["DESKMATE_HOME"], json.dumps(message)], env=env,
                          cwd=REPO, capture_output=True, text=True, timeout=60, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"could not reach the app: {done.stderr[-2000:]}")
    reply = json.loads(done.stdout)
    return reply if isinstance(reply, dict) else None


def launch_until_ready(command: list[str], env: dict[str, str], ready_file: Path, log: Path,
                       live: list[subprocess.Popen[Any]], timeout: float = 120.0
                       ) -> tuple[float, subprocess.Popen[Any]]:
    """Seconds from just before the spawn to the ``interactive_at`` the process wrote, and the process."""
    ready_file.unlink(missing_ok=True)
    with log.open("a") as output:
        spawned = time.time()
        process = subprocess.Popen([*TASKSET, *command], env=env, cwd=REPO, stdout=output, stderr=subprocess.STDOUT)
    live.append(process)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError, ValueError):
            return json.loads(ready_file.read_text(encoding="utf-8"))["interactive_at"] - spawned, process
        if process.poll() is not None and not ready_file.exists():
            raise RuntimeError(f"{command} exited with {process.returncode} before it was ready; see {log}")
        time.sleep(0.01)
    raise RuntimeError(f"{command} was not ready within {timeout:.0f} s; see {log}")


def spawn_to_exit(command: list[str], env: dict[str, str], timeout: float = 120.0) -> float:
    started = time.perf_counter()
    subprocess.run([*TASKSET, *command], env=env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   timeout=timeout, check=True)
    return time.perf_counter() - started


def import_profile(env: dict[str, str], code: str) -> list[tuple[str, float]]:
    """Self time of the imports in ``code`` summed by top-level package (ms), largest first (-X importtime)."""
    done = subprocess.run([*TASKSET, sys.executable, "-X", "importtime", "-c", code], env=env, cwd=REPO,
                          capture_output=True, text=True, timeout=120, check=True)
    totals: dict[str, float] = {}
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        parts = [p.strip() for p in line.split(":", 1)[1].split("|")]
        if len(parts) != 3 or not parts[0].isdigit():
            continue
        top = parts[2].strip().split(".")[0]
        totals[top] = totals.get(top, 0.0) + int(parts[0]) / 1000
    return sorted(totals.items(), key=lambda item: -item[1])


def startup(display: str, home: Path, runs: int, breakdown_runs: int, live: list[subprocess.Popen[Any]]) -> dict:
    scratch = home / "bench"
    scratch.mkdir(exist_ok=True)
    ready, log = scratch / "ready.json", scratch / "app-output.log"
    baseline_script = scratch / "baseline_app.py"
    baseline_script.write_text(BASELINE_APP, encoding="utf-8")
    env = app_env(display, home, ready)
    deskmate, baseline = [], []
    print("  runs done:", end="", flush=True)
    for n in range(runs):
        seconds, process = launch_until_ready([sys.executable, str(baseline_script)], env, ready, log, live)
        baseline.append(seconds)
        process.wait(timeout=60)
        seconds, process = launch_until_ready([sys.executable, "-m", "app"], env, ready, log, live)
        deskmate.append(seconds)
        reply = remote(env, {"cmd": "quit"})
        if not reply or not reply.get("ok"):
            raise RuntimeError(f"the app refused to quit: {reply}")
        if process.wait(timeout=120) != 0:
            raise RuntimeError(f"the app exited with {process.returncode}; see {log}")
        print(f" {n + 1}", end="", flush=True)
    print()
    if "Traceback" in log.read_text(encoding="utf-8", errors="replace"):
        print(f"note: a traceback was logged by the app or the baseline, see {log}")
    plain = app_env(display, home)
    steps = [
        ("python -c pass (interpreter)", [sys.executable, "-c", "pass"]),
        ("import PySide6.QtWidgets", [sys.executable, "-c", "import PySide6.QtWidgets"]),
        ("import app.cli (CLI, settings)", [sys.executable, "-c", "import app.cli"]),
        ("import app.cli, app.gui.instance (a hand-over's needs)",
         [sys.executable, "-c", "import app.cli, app.gui.instance"]),
        ("import app.cli, app.gui.desktop", [sys.executable, "-c", "import app.cli, app.gui.desktop"]),
        ("python -m app --version", [sys.executable, "-m", "app", "--version"]),
    ]
    parts = {label: [spawn_to_exit(command, plain) for _ in range(breakdown_runs)] for label, command in steps}
    imports = import_profile(plain, "import app.cli, app.gui.desktop")
    return {"deskmate_s": deskmate, "baseline_s": baseline, "breakdown_s": parts, "imports_ms": imports}


def print_startup(result: dict) -> None:
    desk, base = result["deskmate_s"], result["baseline_s"]
    warm_desk, warm_base = desk[1:] or desk, base[1:] or base

    def ms(value: float) -> str:
        return f"{value * 1000:.0f}"

    rows = [
        ["first launch", ms(desk[0]), ms(base[0]), f"{desk[0] / base[0]:.1f}"],
        [f"median of the next {len(warm_desk)}", ms(common.percentile(warm_desk, 50)),
         ms(common.percentile(warm_base, 50)),
         f"{common.percentile(warm_desk, 50) / common.percentile(warm_base, 50):.1f}"],
        [f"max of the next {len(warm_desk)}", ms(max(warm_desk)), ms(max(warm_base)),
         f"{max(warm_desk) / max(warm_base):.1f}"],
    ]
    print("Start-up: spawn to interactive main window (goal: Deskmate under 1500 ms on 2 cores)")
    print(common.table(["", "Deskmate ms", "empty Qt window ms (baseline)", "Deskmate / baseline"], rows))
    print("\nBreakdown: spawn to exit of a process that only imports (median of "
          f"{len(next(iter(result['breakdown_s'].values())))})")
    print(common.table(["what", "ms"], [[label, ms(common.percentile(values, 50))]
                                        for label, values in result["breakdown_s"].items()]))
    imports = result["imports_ms"]
    total = sum(value for _, value in imports)
    print(f"\nImport self time of `import app.cli, app.gui.desktop` by top-level package ({total:.0f} ms in all, "
          "-X importtime; the largest 10)")
    print(common.table(["package", "ms"], [[name, f"{value:.0f}"] for name, value in imports[:10]]))


# -- part 2: quick ask in a running instance ---------------------------------------------------------------------------


class PaintWatch:
    """Records when the popup gets its first paint event after ``arm()``, and leaves ``loop`` then."""

    def __init__(self, widget: Any) -> None:
        from PySide6.QtCore import QEvent, QEventLoop, QObject, QTimer

        watch = self

        class Filter(QObject):
            def eventFilter(self, obj: Any, event: Any) -> bool:  # noqa: N802 - Qt's name
                if event.type() == QEvent.Type.Paint and watch.painted is None and watch.armed:
                    watch.painted = time.perf_counter()
                    watch.loop.quit()
                return False

        self.loop = QEventLoop()
        self.timer = QTimer()  # the timeout: one timer, stopped after each wait, so none is left to end a later one
        self.timer.setSingleShot(True)
        self.timer.timeout.connect(self.loop.quit)
        self.painted: float | None = None
        self.armed = False
        self.filter = Filter()
        widget.installEventFilter(self.filter)

    def arm(self) -> None:
        self.painted, self.armed = None, True

    def wait(self, timeout_s: float = 10.0) -> tuple[float, float]:
        """(first paint, end of that event dispatch: the frame painted and flushed) as perf_counter times."""
        deadline = time.perf_counter() + timeout_s
        while self.painted is None and time.perf_counter() < deadline:
            self.timer.start(max(1, int((deadline - time.perf_counter()) * 1000)))
            self.loop.exec()
            self.timer.stop()
        flushed = time.perf_counter()
        self.armed = False
        if self.painted is None:
            raise RuntimeError(f"quick ask was not painted within {timeout_s:.0f} s")
        return self.painted, flushed


def spin(ms: int) -> None:
    """Run the event loop for ``ms`` milliseconds."""
    from PySide6.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()


def spin_until(check: Callable[[], bool], timeout_s: float, what: str, step_ms: int = 10) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out after {timeout_s:.0f} s waiting for {what}")
        spin(step_ms)


def press_shortcut(display: Any, keys: tuple[str, ...] = SHORTCUT_KEYS) -> float:
    """Press and release ``keys`` through XTEST; the perf_counter time the last key went down."""
    from Xlib import XK, X
    from Xlib.ext import xtest

    codes = [display.keysym_to_keycode(XK.string_to_keysym(k)) for k in keys]
    for code in codes[:-1]:
        xtest.fake_input(display, X.KeyPress, code)
    display.sync()
    pressed = time.perf_counter()
    xtest.fake_input(display, X.KeyPress, codes[-1])
    display.sync()
    for code in reversed(codes):
        xtest.fake_input(display, X.KeyRelease, code)
    display.sync()
    return pressed


def quick_ask(display: str, home: Path, count: int, launches: int, live: list[subprocess.Popen[Any]]) -> dict:
    os.environ.pop("QT_QPA_PLATFORM", None)
    os.environ.pop("WAYLAND_DISPLAY", None)
    os.environ["DISPLAY"] = display
    from PySide6.QtWidgets import QApplication
    from Xlib import display as xdisplay

    from app.gui.backend import Backend
    from app.gui.desktop import DesktopApp
    from app.settings import load_settings

    app = QApplication.instance() or QApplication([sys.argv[0]])
    assert isinstance(app, QApplication)
    settings, paths = load_settings(home)
    desktop = DesktopApp(app, Backend(settings, paths))
    opened = time.perf_counter()
    result: dict[str, Any] = {"platform": QApplication.platformName(), "tray": desktop.tray is not None}
    xtest_display = None
    try:
        desktop.start()
        spin_until(lambda: desktop.backend.ready and desktop._index_wired, 180, "the session to open")
        result["session_ready_s"] = time.perf_counter() - opened
        result["hotkey"] = desktop.hotkey_status.message
        spin(500)  # let the index manager's first refresh and the watcher's start settle
        watch = PaintWatch(desktop.quick)

        def shown(trigger: Callable[[], float]) -> tuple[float, float]:
            watch.arm()
            start = trigger()
            painted, flushed = watch.wait()
            if not desktop.quick.isVisible():
                raise RuntimeError("quick ask was painted but is not visible")
            return painted - start, flushed - start

        def tray_click() -> float:
            start = time.perf_counter()
            desktop.toggle_quick_ask()
            return start

        def hide() -> None:
            desktop.toggle_quick_ask()
            spin_until(lambda: not desktop.quick.isVisible(), 10, "quick ask to hide")
            spin(100)

        result["tray_first"] = shown(tray_click)
        hide()
        result["tray"] = []
        for _ in range(count):
            result["tray"].append(shown(tray_click))
            hide()
        if desktop.hotkey_status.ok:
            xtest_display = xdisplay.Display(display)
            result["shortcut"] = []
            for _ in range(count):
                result["shortcut"].append(shown(lambda: press_shortcut(xtest_display)))
                hide()
        env = app_env(display, home)
        output = home / "quick-ask-launch.log"
        result["launch"] = []
        for _ in range(launches):
            watch.arm()
            started = time.perf_counter()
            with output.open("w") as out:
                process = subprocess.Popen([*TASKSET, sys.executable, "-m", "app", "--quick-ask"], env=env,
                                           cwd=REPO, stdout=out, stderr=subprocess.STDOUT)
            live.append(process)
            try:
                painted, _ = watch.wait(60)
                spin_until(lambda process=process: process.poll() is not None, 60, "the second launch to exit", 2)
            except RuntimeError as exc:
                raise RuntimeError(f"{exc}; `python -m app --quick-ask` said: {output.read_text()[-2000:]}") from exc
            exited = time.perf_counter()
            if process.returncode != 0:
                raise RuntimeError(f"`python -m app --quick-ask` exited with {process.returncode}: "
                                   f"{output.read_text()[-2000:]}")
            result["launch"].append((painted - started, exited - started))
            hide()
    finally:
        if xtest_display is not None:
            xtest_display.close()
        desktop.quit()
        app.processEvents()
    return result


def print_quick(result: dict) -> None:
    def row(label: str, values: list[tuple[float, float]], which: int) -> list[str]:
        ms = [v[which] * 1000 for v in values]
        return [label, str(len(ms)), f"{common.percentile(ms, 50):.1f}", f"{common.percentile(ms, 95):.1f}",
                f"{max(ms):.1f}"]

    print(f"\nQuick ask in a running instance ({result['platform']}, tray {'docked' if result['tray'] else 'absent'};"
          f" session opened in {result['session_ready_s']:.1f} s; shortcut: {result['hotkey']})")
    print("goal: visible within 150 ms; 'painted' = the popup's first paint event, 'flushed' = that frame drawn "
          "and sent to the X server")
    first = result["tray_first"]
    rows = [["tray click, first popup of the process", "1", f"{first[0] * 1000:.1f}", "", ""],
            row("tray click (toggle_quick_ask): painted", result["tray"], 0),
            row("tray click (toggle_quick_ask): flushed", result["tray"], 1)]
    if result.get("shortcut"):
        rows += [row("Ctrl+Alt+Space via XTEST: painted", result["shortcut"], 0),
                 row("Ctrl+Alt+Space via XTEST: flushed", result["shortcut"], 1)]
    print(common.table(["what", "n", "p50 ms", "p95 ms", "max ms"], rows))
    if result["launch"]:
        print("\nReference: a second launch `python -m app --quick-ask` (Python start-up included)")
        print(common.table(["what", "n", "p50 ms", "p95 ms", "max ms"],
                           [row("spawn to popup painted in the running app", result["launch"], 0),
                            row("spawn to that launch's exit", result["launch"], 1)]))


def main() -> None:
    p = common.parser(__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, help="start-ups of each (default 7; --quick 3); the first is shown apart")
    p.add_argument("--popups", type=int, help="quick-ask popups per trigger (default 30; --quick 10)")
    p.add_argument("--launches", type=int, help="`--quick-ask` second launches (default 5; --quick 2)")
    p.add_argument("--skip-startup", action="store_true", help="only the quick-ask part")
    p.add_argument("--skip-quick-ask", action="store_true", help="only the start-up part")
    args = p.parse_args()
    runs = args.runs or (3 if args.quick else 7)
    popups = args.popups or (10 if args.quick else 30)
    launches = args.launches if args.launches is not None else (2 if args.quick else 5)
    info = common.print_header("desktop app start-up and quick ask", {
        "display": "Xvfb 1280x800x24 + trayer (xcb platform)",
        "pinned": " ".join(TASKSET) if TASKSET else "no (taskset missing or fewer than 2 CPUs)",
    })
    live: list[subprocess.Popen[Any]] = []
    payload: dict[str, Any] = {"machine": info}
    with tempfile.TemporaryDirectory(prefix="deskmate-bench-", ignore_cleanup_errors=True) as folder:
        home = Path(folder)
        try:
            print("Preparing a returning user's home (notes indexed, default model linked, one conversation) ...",
                  flush=True)
            prepare_home(home)
            with x_server() as display:
                if not args.skip_startup:
                    print(f"Start-up: {runs} launches of each, interleaved ...", flush=True)
                    payload["startup"] = startup(display, home, runs, max(3, runs), live)
                    print_startup(payload["startup"])
                if not args.skip_quick_ask:
                    print("\nQuick ask: building the app in this process and waiting for its session ...", flush=True)
                    payload["quick_ask"] = quick_ask(display, home, popups, launches, live)
                    print_quick(payload["quick_ask"])
        finally:
            for process in live:
                _stop(process, timeout=30)
    common.write_json(args.json, payload)


if __name__ == "__main__":
    main()

"""GUI-thread event-loop lag of the desktop app: idle, while 10,000 files are indexed, while the default model streams.

A 5 ms QTimer (PreciseTimer) on the GUI thread records how late each tick comes (the gap since the previous tick
minus 5 ms, negatives counted as 0): a late tick is time the GUI thread could not react to input or paint (goal: never
blocked for more than 50 ms). The app is the real one, built in this process (DesktopApp with a real Backend: the
real agent session, the ONNX embedder, the embedded default model), on Xvfb with trayer as the tray host (the xcb
platform; `--offscreen` uses Qt's offscreen platform instead). Three phases in the same run:

- idle: the main window shown, the session open, nothing asked (the baseline);
- indexing: a folder of 10,000 generated text files (~1-3 KB, every one different) is added in the index manager
  (shown), through `IndexManagerWidget.add_roots`, which starts `sync_all` as when a user adds a folder, until
  `sync_finished`: parse, chunk, embed with the real embedder, write to LanceDB, on the index lane;
- generation: five questions about a few notes asked in the main window (`MainWindow.ask`) and answered by the
  embedded default model, streaming into the chat view (the first question loads the model); TokenDelta events are
  counted to show that tokens really streamed.

It prints max, p99, p50 and the count of gaps over 50 ms per phase, the ratio of each phase's p99 and max to idle's,
files/s while indexing and streamed tokens/s while generating. Two more columns tell where a late tick comes from:
the same 5 ms tick in a separate process on the same cores (its lateness is CPU contention alone: on 2 busy cores
the OS scheduler delays every thread; the GUI's lateness beyond it is in-process: the GIL or work on the GUI thread),
and Python's garbage collections (gc.callbacks: a long one holds the GIL and stalls the GUI thread too).
"""

from __future__ import annotations

import gc
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import common
from gui_startup import link_default_model, prepare_home, spin, spin_until, x_server

INTERVAL_MS = 5
LONG_MS = 50.0
QUESTIONS = [
    "How long are backups kept?",
    "How much is the passport fee?",
    "Up to how much is a hotel night refunded?",
    "When does the database move to the new server?",
    "When is the release planned?",
]
_VOCABULARY = (
    "project meeting budget report draft review invoice client design server backup release note summary schedule "
    "travel expense contract policy update migration database index search query latency memory cache thread worker "
    "folder archive kernel network proxy config deploy rollback ticket sprint roadmap customer supplier warehouse "
    "shipment order payment refund quarter forecast revenue margin audit compliance training onboarding hiring "
    "vacation office printer laptop monitor license renewal upgrade incident outage alert dashboard metric survey "
    "feedback workshop agenda minutes decision action owner deadline milestone risk issue dependency estimate "
    "prototype experiment hypothesis result analysis chart table appendix section chapter figure reference"
).split()
_NAMES = "Anna Marco Lena Tom Sara Yusuf Ines Piotr Mei Oskar Nadia Felix".split()

# The same 5 ms tick in a separate process on the same cores: no GIL or event loop shared with the app, so its
# lateness is what the OS scheduler alone costs (CPU contention); the GUI's lateness beyond it is the app's own.
SLEEPER = """\
import json, sys, threading, time
done = threading.Event()
threading.Thread(target=lambda: (sys.stdin.read(), done.set()), daemon=True).start()
late, last = [], time.perf_counter()
while not done.is_set():
    time.sleep(0.005)
    now = time.perf_counter()
    late.append(max(0.0, (now - last) * 1000 - 5))
    last = now
print(json.dumps(late))
"""


def write_corpus(root: Path, count: int, seed: int = 11) -> int:
    """``count`` text files of ~1-3 KB in 100 folders, every one different; the bytes written."""
    rng = random.Random(seed)
    written = 0
    for n in range(count):
        folder = root / f"folder_{n % 100:03d}"
        folder.mkdir(parents=True, exist_ok=True)
        sentences = []
        target = rng.randint(1000, 3000)
        size = 0
        while size < target:
            words = [rng.choice(_VOCABULARY) for _ in range(rng.randint(6, 16))]
            if rng.random() < 0.3:
                words.insert(rng.randrange(len(words)), rng.choice(_NAMES))
            if rng.random() < 0.3:
                words.insert(rng.randrange(len(words)), str(rng.randint(1, 9999)))
            sentence = " ".join(words).capitalize() + "."
            sentences.append(sentence)
            size += len(sentence) + 1
        body = f"# Note {n}: {rng.choice(_VOCABULARY)} {rng.choice(_VOCABULARY)}\n\n" + " ".join(sentences) + "\n"
        (folder / f"note_{n:05d}.txt").write_text(body, encoding="utf-8")
        written += len(body)
    return written


class LagMonitor:
    """A PreciseTimer every 5 ms on the GUI thread; ``stop()`` returns how late each tick was, in ms.

    It also records Python's garbage collections (gc.callbacks, any thread): a collection holds the GIL, so one that
    takes long stalls the GUI thread too; the report says how many long gaps overlapped one.
    """

    def __init__(self) -> None:
        from PySide6.QtCore import Qt, QTimer

        self.timer = QTimer()
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(INTERVAL_MS)
        self.timer.timeout.connect(self._tick)
        self.ticks: list[float] = []
        self.sleeper: subprocess.Popen[str] | None = None
        self.collections: list[tuple[float, float, int]] = []  # start, end, generation
        self._gc_started = 0.0
        self.started = 0.0

    def start(self) -> None:
        self.sleeper = subprocess.Popen([sys.executable, "-c", SLEEPER], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, text=True)
        self.collections = []
        self.started = time.perf_counter()
        self.ticks = [self.started]
        gc.callbacks.append(self._gc)
        self.timer.start()

    def _tick(self) -> None:
        self.ticks.append(time.perf_counter())

    def _gc(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._gc_started = time.perf_counter()
        else:
            self.collections.append((self._gc_started, time.perf_counter(), info["generation"]))

    def stop(self) -> dict[str, Any]:
        self.timer.stop()
        gc.callbacks.remove(self._gc)
        seconds = time.perf_counter() - self.started
        late = [max(0.0, (b - a) * 1000 - INTERVAL_MS) for a, b in zip(self.ticks, self.ticks[1:], strict=False)]
        long_gaps = [(a, b) for a, b in zip(self.ticks, self.ticks[1:], strict=False)
                     if (b - a) * 1000 - INTERVAL_MS > LONG_MS]
        pauses = [(end - begin) * 1000 for begin, end, _ in self.collections]
        assert self.sleeper is not None
        other = json.loads(self.sleeper.communicate("", timeout=60)[0] or "[]")
        self.sleeper = None
        in_gc = sum(1 for a, b in long_gaps if any(begin < b and end > a and (end - begin) * 1000 > 10
                                                   for begin, end, _ in self.collections))
        return {"seconds": seconds, "ticks": len(late), "p50_ms": common.percentile(late, 50),
                "p99_ms": common.percentile(late, 99), "max_ms": max(late) if late else float("nan"),
                "over_50ms": len(long_gaps), "long_gaps_at_s": [round(a - self.started, 3) for a, _ in long_gaps],
                "long_gaps_ms": [round((b - a) * 1000 - INTERVAL_MS, 1) for a, b in long_gaps],
                "gc_collections": len(pauses), "gc_max_ms": max(pauses, default=0.0),
                "gc_over_50ms": sum(1 for p in pauses if p > LONG_MS), "long_gaps_with_gc": in_gc,
                "other_process": {"ticks": len(other), "p50_ms": common.percentile(other, 50),
                                  "p99_ms": common.percentile(other, 99), "max_ms": max(other, default=float("nan")),
                                  "over_50ms": sum(1 for v in other if v > LONG_MS)}}


def wait_signal(signal: Any, timeout_s: float, what: str) -> list[Any]:
    """Run the event loop until ``signal`` fires; its arguments."""
    from PySide6.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    got: list[Any] = []

    def fired(*args: Any) -> None:
        got.append(args)
        loop.quit()

    signal.connect(fired)
    timer = QTimer()
    timer.setSingleShot(True)
    timer.timeout.connect(loop.quit)
    timer.start(int(timeout_s * 1000))
    try:
        if not got:
            loop.exec()
    finally:
        timer.stop()
        signal.disconnect(fired)
    if not got:
        raise RuntimeError(f"timed out after {timeout_s:.0f} s waiting for {what}")
    return list(got[0])


def run_phases(home: Path, corpus: Path, files: int, idle_s: float, questions: list[str]) -> dict[str, Any]:
    from PySide6.QtWidgets import QApplication

    from app.gui.backend import Backend
    from app.gui.desktop import DesktopApp
    from app.settings import load_settings

    app = QApplication.instance() or QApplication([sys.argv[0]])
    assert isinstance(app, QApplication)
    settings, paths = load_settings(home)
    desktop = DesktopApp(app, Backend(settings, paths))
    monitor = LagMonitor()
    result: dict[str, Any] = {"platform": QApplication.platformName(), "tray": desktop.tray is not None}
    try:
        desktop.start()
        spin_until(lambda: desktop.backend.ready and desktop._index_wired, 180, "the session to open")
        spin(1000)  # the index summary, thread list and watcher start settle

        print(f"  idle for {idle_s:.0f} s ...", flush=True)
        monitor.start()
        spin(int(idle_s * 1000))
        result["idle"] = monitor.stop()

        print(f"  indexing {files:,} files ...", flush=True)
        widget = desktop.window.index_dialog.widget
        desktop.window.show_index_manager()
        spin(300)
        summaries: list[str] = []
        widget.sync_finished.connect(summaries.append)
        monitor.start()
        widget.add_roots([corpus])
        wait_signal(widget.busy_changed, 300, "the sync to start")
        if widget.busy:
            wait_signal(widget.busy_changed, 3600, "the sync to finish")
        stats = monitor.stop()
        if not summaries:
            raise RuntimeError(f"the sync did not finish: {widget.error_text or 'no summary'}")
        summary = summaries[-1]
        result["indexing"] = stats | {"files": files, "summary": summary}
        status = desktop.backend.session().index.status()
        result["indexing"]["indexed_files"] = status["files"]
        result["indexing"]["chunks"] = status["chunks"]
        desktop.window.index_dialog.hide()
        spin(300)

        print(f"  generation: {len(questions)} questions to the default model ...", flush=True)
        from agents.runner import TokenDelta, TurnDone

        turns: list[dict[str, Any]] = []

        def received(event: object) -> None:
            turn, now = turns[-1], time.perf_counter()
            if isinstance(event, TokenDelta):
                turn["deltas"] += 1
                turn["first"] = turn["first"] or now
                turn["last"] = now
            elif isinstance(event, TurnDone):
                turn["mode"] = event.mode

        desktop.window.turns.received.connect(received)
        desktop.window.raise_()
        monitor.start()
        for question in questions:
            turns.append({"question": question, "asked": time.perf_counter(), "deltas": 0, "first": None,
                          "last": None, "mode": "?"})
            if not desktop.window.ask(question):
                raise RuntimeError("the main window did not take the question")
            wait_signal(desktop.window.turns.finished, 600, "the answer")
            turns[-1]["done"] = time.perf_counter()
        stats = monitor.stop()
        deltas = sum(t["deltas"] for t in turns)
        streaming = sum(t["last"] - t["first"] for t in turns if t["first"] is not None)
        result["generation"] = stats | {
            "turns": [{"question": t["question"], "deltas": t["deltas"], "mode": t["mode"],
                       "first_token_s": (t["first"] - t["asked"]) if t["first"] else None,
                       "turn_s": t["done"] - t["asked"]} for t in turns],
            "deltas": deltas, "streaming_s": streaming}
    finally:
        if monitor.sleeper is not None:
            monitor.sleeper.kill()
            monitor.sleeper.wait()
        desktop.quit()
        app.processEvents()
    return result


def print_results(result: dict[str, Any]) -> None:
    idle = result["idle"]
    rows = []
    for phase in ("idle", "indexing", "generation"):
        s = result[phase]
        ratio_p99 = s["p99_ms"] / idle["p99_ms"] if idle["p99_ms"] > 0 else float("inf")
        ratio_max = s["max_ms"] / idle["max_ms"] if idle["max_ms"] > 0 else float("inf")
        rows.append([phase, f"{s['seconds']:.1f}", f"{s['ticks']:,}", f"{s['p50_ms']:.2f}", f"{s['p99_ms']:.1f}",
                     f"{s['max_ms']:.1f}", s["over_50ms"], f"{ratio_p99:.1f}", f"{ratio_max:.1f}"])
    print(f"\nGUI-thread lag: how late a {INTERVAL_MS} ms timer fires ({result['platform']}, "
          f"tray {'docked' if result['tray'] else 'absent'}; goal: no gap over {LONG_MS:.0f} ms)")
    print(common.table(["phase", "s", "ticks", "p50 ms", "p99 ms", "max ms", "gaps > 50 ms", "p99 / idle",
                        "max / idle"], rows))
    print("\nThe same 5 ms tick in a separate process on the same cores (OS scheduling only: no GIL, no event loop)")
    print(common.table(["phase", "ticks", "p50 ms", "p99 ms", "max ms", "gaps > 50 ms", "GUI p99 / this p99"],
                       [[phase, f"{o['ticks']:,}", f"{o['p50_ms']:.2f}", f"{o['p99_ms']:.1f}", f"{o['max_ms']:.1f}",
                         o["over_50ms"],
                         f"{result[phase]['p99_ms'] / o['p99_ms']:.1f}" if o["p99_ms"] > 0 else "inf"]
                        for phase in ("idle", "indexing", "generation")
                        for o in [result[phase]["other_process"]]]))
    print("\nPython garbage collections during each phase (any thread; a collection holds the GIL)")
    print(common.table(["phase", "collections", "longest ms", "over 50 ms", "gaps > 50 ms during one"],
                       [[phase, result[phase]["gc_collections"], f"{result[phase]['gc_max_ms']:.1f}",
                         result[phase]["gc_over_50ms"], result[phase]["long_gaps_with_gc"]]
                        for phase in ("idle", "indexing", "generation")]))
    for phase in ("indexing", "generation"):
        gaps = sorted(result[phase]["long_gaps_ms"], reverse=True)
        if gaps:
            print(f"  {phase}: the longest gaps (ms): {', '.join(f'{g:.0f}' for g in gaps[:10])}")
    ix = result["indexing"]
    print(f"\nindexing: {ix['files']:,} files in {ix['seconds']:.1f} s = {ix['files'] / ix['seconds']:.0f} files/s; "
          f"index now {ix['indexed_files']:,} files, {ix['chunks']:,} chunks")
    print(f"  {ix['summary']}")
    gen = result["generation"]
    rate = gen["deltas"] / gen["streaming_s"] if gen["streaming_s"] > 0 else float("nan")
    print(f"\ngeneration: {gen['deltas']} streamed TokenDelta events, {rate:.1f} tokens/s while streaming "
          f"(first to last delta of each turn); phase {gen['seconds']:.1f} s, the first turn loads the model")
    print(common.table(["question", "deltas", "first token s", "turn s", "mode"],
                       [[t["question"], t["deltas"],
                         f"{t['first_token_s']:.2f}" if t["first_token_s"] is not None else "-",
                         f"{t['turn_s']:.2f}", t["mode"]] for t in gen["turns"]]))
    if gen["deltas"] == 0:
        print("warning: no tokens streamed, so the generation phase measured no streaming")


def main() -> None:
    p = common.parser(__doc__.splitlines()[0])
    p.add_argument("--files", type=int, help="files indexed in the indexing phase (default 10,000; --quick 300)")
    p.add_argument("--idle-seconds", type=float, help="length of the idle phase (default 10; --quick 3)")
    p.add_argument("--questions", type=int, help=f"questions in the generation phase (default {len(QUESTIONS)}; "
                                                 "--quick 2)")
    p.add_argument("--offscreen", action="store_true", help="Qt's offscreen platform instead of Xvfb")
    args = p.parse_args()
    files = args.files or (300 if args.quick else 10_000)
    idle_s = args.idle_seconds or (3.0 if args.quick else 10.0)
    questions = QUESTIONS[: args.questions or (2 if args.quick else len(QUESTIONS))]
    info = common.print_header("desktop app GUI-thread lag", {
        "display": "offscreen" if args.offscreen else "Xvfb 1280x800x24 + trayer (xcb platform)",
        "files": files, "idle_s": idle_s, "questions": len(questions)})
    with tempfile.TemporaryDirectory(prefix="deskmate-bench-", ignore_cleanup_errors=True) as folder:
        home = Path(folder)
        print("Preparing the home (a few notes indexed, the embedder prepared, the default model linked) ...",
              flush=True)
        prepare_home(home, conversation=False)
        link_default_model(home)
        print(f"Writing {files:,} files ...", flush=True)
        size = write_corpus(home / "corpus", files)
        print(f"  {size / 2**20:.1f} MiB", flush=True)
        os.environ["DESKMATE_HOME"] = str(home)
        os.environ.pop("WAYLAND_DISPLAY", None)
        if args.offscreen:
            os.environ["QT_QPA_PLATFORM"] = "offscreen"
            result = run_phases(home, home / "corpus", files, idle_s, questions)
        else:
            os.environ.pop("QT_QPA_PLATFORM", None)
            with x_server() as display:
                os.environ["DISPLAY"] = display
                result = run_phases(home, home / "corpus", files, idle_s, questions)
    print_results(result)
    common.write_json(args.json, {"machine": info, **result})


if __name__ == "__main__":
    main()

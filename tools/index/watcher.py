"""Keeps the index fresh: watchdog events within seconds, a periodic full reconcile for what events miss.

Events miss files on network drives, files still being copied, and changes made while the OS dropped events.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

from tools.index.knowledge import KnowledgeIndex, SyncReport

log = logging.getLogger(__name__)


class _Collector(FileSystemEventHandler):
    def __init__(self, watcher: IndexWatcher) -> None:
        self._watcher = watcher

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type in ("opened", "closed_no_write"):
            return
        if event.is_directory and event.event_type == "modified":
            return  # the files inside report their own events; re-walking the folder would be wasted work
        for raw in (event.src_path, getattr(event, "dest_path", "")):
            if raw:
                self._watcher.notify(os.fsdecode(raw))


class IndexWatcher:
    """Watches every root of ``index``; call ``start()``/``stop()`` or ``run_forever()``.

    Changes are collected and applied after ``debounce`` seconds without new events, so saving a file
    (often several writes and a rename) costs one small sync. A file modified within the debounce window is
    held back one more round: it is probably still being written.
    """

    def __init__(self, index: KnowledgeIndex, *, debounce: float = 0.4, reconcile_seconds: float = 600.0,
                 on_sync: Callable[[str], None] | None = None) -> None:
        self.index = index
        self.debounce = debounce
        self.reconcile_seconds = reconcile_seconds
        self.on_sync = on_sync
        self._pending: set[str] = set()
        self._last_event = 0.0
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._observer: Observer | None = None  # type: ignore[valid-type]
        self.syncs = 0
        self.last_error: str | None = None
        self._ignored = os.path.abspath(index.data_dir) + os.sep

    def notify(self, path: str) -> None:
        if path.startswith(self._ignored):
            return  # our own index files change on every sync
        with self._lock:
            self._pending.add(path)
            self._last_event = time.monotonic()
        self._wake.set()

    def start(self, *, observe: bool = True) -> None:
        """Start watching; ``observe=False`` runs only the periodic reconcile (for sources that send no events)."""
        self._thread = threading.Thread(target=self._loop, name="deskmate-index-watcher", daemon=True)
        self.index.start_parsers()
        if not observe:
            self._thread.start()
            return
        observer = Observer()
        handler = _Collector(self)
        for root in self.index.roots():
            folder = root.path if os.path.isdir(root.path) else os.path.dirname(root.path)
            observer.schedule(handler, folder, recursive=os.path.isdir(root.path))
        observer.start()
        self._observer = observer
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._observer is not None:
            self._observer.stop()
            self._observer.join(timeout=5)
        if self._thread is not None:
            self._thread.join(timeout=60)

    def run_forever(self, on_started: Callable[[], None] | None = None) -> None:
        """Watch until interrupted; ``on_started`` runs once every root is being watched."""
        self.start()
        if on_started:
            on_started()
        try:
            while not self._stop.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()

    def _loop(self) -> None:
        next_reconcile = time.monotonic() + self.reconcile_seconds
        while not self._stop.is_set():
            timeout = max(0.0, next_reconcile - time.monotonic())
            self._wake.wait(timeout)
            self._wake.clear()
            if self._stop.is_set():
                return
            if time.monotonic() >= next_reconcile:
                self._run(None)
                next_reconcile = time.monotonic() + self.reconcile_seconds
                continue
            while not self._stop.is_set():
                with self._lock:
                    quiet_for = time.monotonic() - self._last_event
                if quiet_for >= self.debounce:
                    break
                self._stop.wait(self.debounce - quiet_for)
            with self._lock:
                paths, self._pending = self._pending, set()
            ready, busy = self._split_busy(paths)
            if busy:
                with self._lock:
                    self._pending |= busy
                    self._last_event = time.monotonic()
                self._wake.set()
            if ready:
                self._run(sorted(ready))

    def _split_busy(self, paths: set[str]) -> tuple[set[str], set[str]]:
        now = time.time()
        ready: set[str] = set()
        busy: set[str] = set()
        for path in paths:
            try:
                recent = now - os.stat(path).st_mtime < self.debounce
            except OSError:
                recent = False  # deleted: apply now
            (busy if recent else ready).add(path)
        return ready, busy

    def _run(self, paths: list[str] | None) -> None:
        try:
            report = self.index.sync(paths=paths)
        except Exception as exc:  # noqa: BLE001 - the watcher must outlive one failed sync
            self.last_error = str(exc)
            log.exception("index sync from the watcher failed")
            if self.on_sync:
                self.on_sync(f"sync failed: {exc}")
            return
        self.syncs += 1
        self.last_error = None
        if self.on_sync and (paths is None or _changed(report)):
            what = "reconciled" if paths is None else f"{len(paths)} changed paths"
            self.on_sync(f"{what}: {report.added} added, {report.changed} changed, {report.removed} removed, "
                         f"{report.failed} failed ({report.seconds:.2f} s)")


def _changed(report: SyncReport) -> bool:
    return bool(report.added or report.changed or report.removed or report.failed)

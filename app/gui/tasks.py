"""Tasks: run work off the GUI thread and bring its result back to the GUI thread (never touch widgets elsewhere).

Four lanes, each one thread, so work of a kind is serialised: ``agent`` (turns, threads, opening the session),
``index`` (syncs, status, the watcher's control), ``io`` (model preparation, connection tests, key storage) and
``download`` (model downloads and imports, which take minutes and must not hold up the io lane).
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Literal

from PySide6.QtCore import QObject, Qt, Signal

log = logging.getLogger(__name__)

Lane = Literal["agent", "index", "io", "download"]
LANES: tuple[Lane, ...] = ("agent", "index", "io", "download")


class Tasks(QObject):
    """``run(fn, on_done, on_error, lane)``; ``post(fn)`` runs ``fn`` on the GUI thread from any thread."""

    failed = Signal(str)  # the message of an error no ``on_error`` handled: the window shows it
    _deliver = Signal(object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._deliver.connect(self._call, Qt.ConnectionType.QueuedConnection)
        self._pools = {lane: ThreadPoolExecutor(1, thread_name_prefix=f"deskmate-{lane}") for lane in LANES}
        self._closed = False

    def post(self, fn: Callable[[], Any]) -> None:
        """Call ``fn`` on the GUI thread, soon (thread-safe; a queued signal)."""
        if not self._closed:
            self._deliver.emit(fn)

    def run(self, fn: Callable[[], Any], on_done: Callable[[Any], Any] | None = None,
            on_error: Callable[[BaseException], Any] | None = None, lane: Lane = "io") -> Future[None]:
        """Run ``fn`` on ``lane``; then ``on_done(result)`` or ``on_error(exc)`` on the GUI thread."""

        def work() -> None:
            try:
                result = fn()
            except BaseException as exc:  # noqa: BLE001 - every failure must reach the user, not a dead thread
                log.debug("task failed:\n%s", "".join(traceback.format_exception(exc)))
                error = exc  # the except clause unbinds ``exc`` when it ends; the callbacks run later
                if on_error is not None:
                    self.post(lambda: on_error(error))
                else:
                    log.error("%s", error)
                    self.post(lambda: self.failed.emit(describe(error)))
                return
            if on_done is not None:
                self.post(lambda: on_done(result))

        return self._pools[lane].submit(work)

    def shutdown(self, wait: bool = True) -> None:
        self._closed = True
        for pool in self._pools.values():
            pool.shutdown(wait=wait, cancel_futures=True)

    def _call(self, fn: Callable[[], Any]) -> None:
        try:
            fn()
        except Exception as exc:  # a bug in a GUI callback: report it rather than let Qt swallow it
            log.exception("error in a GUI callback")
            self.failed.emit(describe(exc))


def describe(exc: BaseException) -> str:
    """The one-line message a user sees for ``exc``: Deskmate's own errors already say what to do next."""
    from tools.errors import DeskmateError

    if isinstance(exc, DeskmateError):
        return str(exc)
    return f"{type(exc).__name__}: {exc} (details in the log)"

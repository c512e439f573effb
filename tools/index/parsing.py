"""Runs parsers in worker processes with a time budget, so one bad file can neither hang nor crash a sync."""

from __future__ import annotations

import hashlib
import logging
import multiprocessing
import os
import signal
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from tools.index.document import ParseBudget, ParsedDocument, ParseError
from tools.index.parsers import parse_file

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ParseOutcome:
    """The result for one file: its content hash and document, or the reason it failed."""

    path: str
    sha256: str | None
    document: ParsedDocument | None
    error: str | None


def _hash_file(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class _Timeout(BaseException):  # noqa: N818
    """Raised by the alarm; a BaseException so that parsers' own ``except Exception`` cannot swallow it."""


def _on_alarm(_signum: int, _frame: FrameType | None) -> None:
    raise _Timeout


def parse_one(path: str, budget: ParseBudget) -> ParseOutcome:
    """Hash and parse one file; never raises for a bad file."""
    try:
        sha = _hash_file(path)
    except OSError as exc:
        return ParseOutcome(path, None, None, f"cannot read: {exc.strerror or exc}")
    timer = hasattr(signal, "setitimer") and multiprocessing.parent_process() is not None
    if timer:
        # Inside a worker process: a parser stuck on a pathological file is interrupted by an alarm.
        signal.signal(signal.SIGALRM, _on_alarm)
        signal.setitimer(signal.ITIMER_REAL, budget.seconds)
    try:
        return ParseOutcome(path, sha, parse_file(Path(path), budget), None)
    except ParseError as exc:
        return ParseOutcome(path, sha, None, str(exc))
    except _Timeout:
        return ParseOutcome(path, sha, None, f"parsing took longer than {budget.seconds:g} s")
    except RecursionError:
        return ParseOutcome(path, sha, None, "document nested too deeply to parse")
    except MemoryError:
        return ParseOutcome(path, sha, None, "out of memory while parsing")
    finally:
        if timer:
            signal.setitimer(signal.ITIMER_REAL, 0)


def _die_with_parent() -> None:
    """Worker initializer: exit as soon as the parent process is gone.

    A parent killed with SIGKILL never shuts the pool down, and an idle worker waits on its task queue for good
    (it holds the queue's write end itself, so it never sees end-of-file); the resource tracker lives as long as
    any worker holds its pipe. The parent sentinel (a pipe on POSIX, a process handle on Windows) becomes ready
    when the parent dies, however it dies. Linux's PR_SET_PDEATHSIG is not used: it fires when the *thread* that
    started the worker ends, and the app starts workers from pooled threads that come and go.
    """
    parent = multiprocessing.parent_process()
    if parent is not None:
        threading.Thread(target=_exit_when_gone, args=(parent,), name="parent-watch", daemon=True).start()


def _exit_when_gone(parent: multiprocessing.process.BaseProcess) -> None:
    parent.join()  # on a _ParentProcess this waits on the sentinel, never on a child's exit status
    os._exit(1)  # no cleanup to run: the task in hand belongs to a parent that no longer wants it


def _executor(workers: int) -> ProcessPoolExecutor:
    # spawn: forking a process that holds ONNX Runtime and LanceDB threads is unsafe.
    return ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                               initializer=_die_with_parent)


class ParsePool:
    """Parses files in order, ``workers`` processes in parallel (0 = in this process, for tests and tiny jobs).

    A worker that dies (a crash in a native library, the OOM killer) costs only the file it was parsing: that
    file is reported as failed and the pool is restarted for the rest.
    """

    def __init__(self, workers: int, budget: ParseBudget,
                 worker: Callable[[str, ParseBudget], ParseOutcome] = parse_one) -> None:
        self.workers = workers
        self.budget = budget
        self._worker = worker  # a module-level function (it is pickled to the worker processes)
        self._executor: ProcessPoolExecutor | None = None

    def _pool(self) -> ProcessPoolExecutor:
        if self._executor is None:
            self._executor = _executor(self.workers)
        return self._executor

    def start(self) -> None:
        """Start the worker processes now (a watcher does, so its one-file syncs get the time budget too)."""
        if self.workers > 0:
            self._pool()

    @property
    def started(self) -> bool:
        return self._executor is not None

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None

    def parse(self, paths: Iterable[str]) -> Iterator[ParseOutcome]:
        if self.workers <= 0:
            for path in paths:
                yield self._worker(path, self.budget)
            return
        window: deque[tuple[str, Future[ParseOutcome]]] = deque()
        pending = iter(paths)
        ahead = self.workers * 4
        while True:
            while len(window) < ahead:
                upcoming = next(pending, None)
                if upcoming is None:
                    break
                window.append((upcoming, self._pool().submit(self._worker, upcoming, self.budget)))
            if not window:
                return
            path, future = window.popleft()
            try:
                yield future.result()
            except BrokenProcessPool:
                # With several workers the file that killed the pool may be another one in flight (a slow
                # machine leaves many in flight): each file caught in a broken pool is tried again alone, in a
                # fresh process, and blamed only if it breaks that one too.
                yield self._alone(path) if self.workers > 1 else self._crashed(path)
                self._restart(window)
            except Exception as exc:  # noqa: BLE001 - a pickling or pool error for one file
                yield ParseOutcome(path, None, None, f"parser failed: {exc}")

    def _crashed(self, path: str) -> ParseOutcome:
        log.warning("a parser process died while parsing %s; restarting the pool", path)
        return ParseOutcome(path, None, None, "the parser crashed on this file")

    def _alone(self, path: str) -> ParseOutcome:
        with _executor(1) as single:
            try:
                return single.submit(self._worker, path, self.budget).result()
            except BrokenProcessPool:
                return self._crashed(path)

    def _restart(self, window: deque[tuple[str, Future[ParseOutcome]]]) -> None:
        executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=False, cancel_futures=True)
        resubmit = [p for p, _ in window]
        window.clear()
        for path in resubmit:
            window.append((path, self._pool().submit(self._worker, path, self.budget)))


def default_workers() -> int:
    """One parser process per two cores: the embedder's threads use the rest."""
    return max(1, (os.cpu_count() or 2) // 2)

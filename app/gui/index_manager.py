"""IndexManagerWidget: the index's folders, syncing them with per-root progress, counts, failures, pausing the watcher.

All index work runs on the ``index`` lane (opening the session takes seconds, a sync minutes); the widget only shows
what comes back. The watcher is not owned here: the widget reads ``backend.watching`` and starts or stops it, so the
tray's menu and this toggle stay one state.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import shiboken6
from PySide6.QtCore import QMimeData, Qt, Signal
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent, QShowEvent
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.gui.backend import Backend
from app.gui.index_tables import FailuresTableModel, IndexTableView, RootsTableModel, RootsTableView
from app.gui.tasks import Tasks, describe

if TYPE_CHECKING:
    from tools.index.knowledge import SyncReport
    from tools.index.roots import AddReport
    from tools.index.status import IndexStatus

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True, slots=True)
class _Shown:
    """What the widget shows: the index's status, the roots gone from disk, and whether the watcher runs."""

    status: IndexStatus
    missing: set[str]
    watching: bool


def summarize(r: SyncReport) -> str:
    """The one-line summary the CLI prints after ``deskmate index sync``."""
    return (f"scanned {r.scanned} files: {r.added} added, {r.changed} changed, {r.removed} removed, "
            f"{r.unchanged} unchanged, {r.failed} failed; {r.chunks_embedded} chunks embedded "
            f"({r.chunks_reused} reused) in {r.seconds:.1f} s")


def throttled(fn: Progress, interval: float = 0.05, clock: Callable[[], float] = time.monotonic) -> Progress:
    """Pass on at most one update per ``interval`` seconds, but always a new stage and a stage's last step."""
    last_at, last_stage = float("-inf"), ""

    def progress(stage: str, done: int, total: int) -> None:
        nonlocal last_at, last_stage
        now = clock()
        if stage == last_stage and now - last_at < interval and not (total and done >= total):
            return
        last_at, last_stage = now, stage
        fn(stage, done, total)

    return progress


def ago(timestamp: float | None, now: float | None = None) -> str:
    """``timestamp`` as people say it: "just now", "5 minutes ago", "3 hours ago", else the date."""
    if timestamp is None:
        return "never"
    seconds = max(0.0, (time.time() if now is None else now) - timestamp)
    for limit, scale, unit in ((3600, 60, "minute"), (86400, 3600, "hour")):
        if seconds < limit:
            count = int(seconds // scale)
            return "just now" if count == 0 else f"{count} {unit}{'s' if count != 1 else ''} ago"
    return datetime.fromtimestamp(timestamp).strftime("%Y-%m-%d %H:%M")


def local_paths(mime: QMimeData) -> list[Path]:
    """The files and folders on this computer in a drag (a web link cannot be an index root)."""
    return [Path(url.toLocalFile()) for url in mime.urls() if url.isLocalFile()] if mime.hasUrls() else []


class IndexManagerWidget(QWidget):
    """Roots, Sync now, counts, failed files and Pause; drop folders or files on it to add them."""

    sync_finished = Signal(str)  # the one-line summary of a finished sync
    busy_changed = Signal(bool)  # a sync started (True) or ended (False)
    paused_changed = Signal(bool)  # after every set_paused (the tray's check may need to snap back) and on change
    progressed = Signal(str, str, int, int)  # root, stage, done, total: what that root's bar just showed
    refreshed = Signal()  # the status shown was just reloaded
    watcher_synced = Signal(str)  # a sync by a watcher this widget started (the status bar can show it)

    def __init__(self, backend: Backend, tasks: Tasks, parent: QWidget | None = None, *,
                 sync_on_add: bool = True) -> None:
        super().__init__(parent)
        self.backend, self.tasks = backend, tasks
        self.sync_on_add = sync_on_add  # what a user adds, they want searchable; tests step through it by hand
        self._carried: list[str] = []  # problems from adding that the sync started right after must not hide
        self._syncing = False
        self._paused = not backend.watching
        self._resume_wanted = False  # resumed with nothing to watch: start watching once a folder is added
        self._message_error = False
        self.setAcceptDrops(True)
        self.message = QLabel(wordWrap=True, textInteractionFlags=Qt.TextInteractionFlag.TextSelectableByMouse)
        self.message.setAccessibleName("Index manager message")
        self.message.hide()
        self.roots = RootsTableModel(self)
        self.roots_view = RootsTableView(self.roots)
        self.roots_view.delete_pressed.connect(self._remove_selected)
        self.roots_view.selectionModel().selectionChanged.connect(lambda *_: self._update_buttons())
        self.add_button = _button("&Add folder…", "Add a folder to the index", self._choose_folder)
        self.remove_button = _button("&Remove", "Remove the selected folder from the index", self._remove_selected)
        self.sync_button = _button("&Sync now", "Index new and changed files now", self.sync_all)
        self.pause_button = _button("&Pause indexing", "Stop or restart watching the folders for changes",
                                    lambda: self.set_paused(not self._paused))
        self.counts_label, self.last_sync_label, self.watch_label = QLabel("…"), QLabel("…"), QLabel()
        self.embedder_label, self.rebuilding_label = QLabel("…", wordWrap=True), QLabel(wordWrap=True)
        self.rebuilding_label.hide()
        self.failures = FailuresTableModel(self)
        self.failures_view = IndexTableView(self.failures, "Files that could not be indexed", stretch=1)
        self.retry_button = _button("Re&try failed", "Try the selected failed file again, or all of them",
                                    self.retry_failed)
        self._lay_out()
        self._apply_paused(self._paused)
        self._update_buttons()

    def _lay_out(self) -> None:
        layout = QVBoxLayout(self)
        layout.addWidget(self.message)
        roots_box = QGroupBox("Folders in the index (drop folders or files here to add them)")
        box = QVBoxLayout(roots_box)
        box.addWidget(self.roots_view)
        row = QHBoxLayout()
        for item in (self.add_button, self.remove_button, self.sync_button, 1, self.watch_label, self.pause_button):
            row.addStretch(1) if isinstance(item, int) else row.addWidget(item)
        box.addLayout(row)
        layout.addWidget(roots_box, 3)
        form = QFormLayout()
        for label, value in (("Indexed:", self.counts_label), ("Last sync:", self.last_sync_label),
                             ("Embedder:", self.embedder_label)):
            form.addRow(label, value)
        layout.addLayout(form)
        layout.addWidget(self.rebuilding_label)
        failed_box = QGroupBox("Files that could not be indexed")
        box = QVBoxLayout(failed_box)
        box.addWidget(self.failures_view)
        box.addWidget(self.retry_button, 0, Qt.AlignmentFlag.AlignRight)
        layout.addWidget(failed_box, 2)
        order = [self.roots_view, self.add_button, self.remove_button, self.sync_button, self.pause_button,
                 self.failures_view, self.retry_button]
        for first, second in zip(order, order[1:], strict=False):
            QWidget.setTabOrder(first, second)

    # -- public API ------------------------------------------------------------------------------------------

    @property
    def busy(self) -> bool:
        return self._syncing

    @property
    def paused(self) -> bool:
        return self._paused

    @property
    def error_text(self) -> str:
        """The error shown in the widget, or "" (an informational message is not an error)."""
        return self.message.text() if self._message_error else ""

    def refresh(self) -> None:
        """Reload the status from the index (on the index lane)."""
        self._run(self._read_status, self._apply_status, "Could not read the index")

    def add_roots(self, paths: list[Path]) -> None:
        """Add files or folders as roots; what cannot be added is explained, and nothing else is lost."""
        if paths:
            self._show("")
            self._run(lambda: self._add_work(list(paths)), self._added, "Could not add to the index")

    def sync_all(self) -> None:
        """Sync every root, one at a time so each root's own bar moves."""
        self._start_sync(None, retry_failed=False)

    def retry_failed(self) -> None:
        """Try the selected failed file again, or every failed file when none is selected."""
        row = self.failures_view.selected_row()
        self._start_sync(None if row is None else [self.failures.path_at(row)], retry_failed=True)

    def set_paused(self, paused: bool) -> None:
        """Stop (True) or start (False) watching the roots for changes; ``paused_changed`` tells the outcome."""
        self._resume_wanted = not paused
        self.pause_button.setEnabled(False)  # until the lane answers: a second click would only queue behind it
        self._run(lambda: self._watch(stop=paused, start=not paused), self._paused_done, "Could not change indexing")

    # -- lane work: never touches widgets ---------------------------------------------------------------------

    def _read_status(self) -> _Shown:
        status = self.backend.session().index.status_report()
        return _Shown(status, {r.path for r in status.roots if not os.path.exists(r.path)}, self.backend.watching)

    def _add_work(self, paths: list[Path]) -> AddReport:
        from tools.index.roots import add_roots

        report = add_roots(self.backend.session().index, paths)
        if report.added and (self.backend.watching or self._resume_wanted):
            self._watch(stop=True, start=True)
        return report

    def _remove_work(self, path: str) -> tuple[str, bool]:
        removed = self.backend.session().index.remove_root(Path(path))
        if removed and self.backend.watching:
            self._watch(stop=True, start=True)
        return path, removed

    def _sync_work(self, paths: list[str] | None, retry_failed: bool) -> tuple[SyncReport, _Shown]:
        from tools.errors import ConfigError
        from tools.index.roots import sync_roots

        index = self.backend.session().index
        if not index.roots():
            raise ConfigError("There are no folders to index yet: use Add folder… or drop a folder here.")
        forwards: dict[str, Progress] = {}

        def progress(root: str, stage: str, done: int, total: int) -> None:
            if root not in forwards:
                forwards[root] = throttled(
                    lambda stage, done, count: self._post(lambda: self._progress(root, stage, done, count)))
            forwards[root](stage, done, total)

        run = sync_roots(index, paths, progress=progress, retry_failed=retry_failed,
                         on_root=lambda root, report: self._post(lambda: self._root_synced(root, report)))
        return run.total, self._read_status()

    def _watch(self, stop: bool, start: bool) -> bool:
        # Restarting it is how the watcher learns of new roots: it schedules its folders when it starts.
        if stop:
            self.backend.stop_watching()
        return self.backend.start_watching(self._watcher_synced) if start else True

    def _watcher_synced(self, summary: str) -> None:  # on the watcher's thread
        self._post(lambda: self._show_watcher_sync(summary))

    # -- results: GUI thread ----------------------------------------------------------------------------------

    def _apply_status(self, shown: _Shown) -> None:
        status = shown.status
        self.roots.set_roots([r.as_dict() for r in status.roots], shown.missing)
        self.failures.set_failures([f.as_dict() for f in status.failures])
        counts = f"{status.files} files, {status.chunks} chunks, {status.failed} failed"
        links = status.skipped_links
        if links:  # links out of the indexed folders are not followed: say which, so nothing seems lost
            counts += f", {len(links)} link(s) not followed"
        self.counts_label.setText(counts)
        self.counts_label.setToolTip("\n".join(f"{link.path}: {link.reason}" for link in links))
        last = status.last_sync
        self.last_sync_label.setText(ago(last))
        self.last_sync_label.setToolTip(datetime.fromtimestamp(last).strftime("%Y-%m-%d %H:%M:%S") if last else "")
        emb = status.embedder
        self.embedder_label.setText(f"{emb.get('model', 'unknown')} ({emb.get('recipe', '?')}, "
                                    f"{emb.get('dims', '?')} dims)")
        self.rebuilding_label.setText("Rebuilding the index for a new embedder or chunk settings: searches use "
                                      "full-text only until Sync now completes." if status.rebuilding_to else "")
        self.rebuilding_label.setVisible(bool(status.rebuilding_to))
        self._apply_paused(not shown.watching)
        self._update_buttons()
        self.refreshed.emit()

    def _added(self, report: AddReport) -> None:
        added, problems = report.added, [p.message for p in report.problems]
        for path in added:
            self.roots.set_state(path, "not synced yet")
        now = self.sync_on_add and not self._syncing  # roots already in sync cost only a quick scan
        note = [f"Added {', '.join(added)}: press Sync now to index it."] if added and not now else []
        self._show("\n".join(problems + note), error=bool(problems))
        self.refresh()
        if added and now:
            self.sync_all()
            if problems:  # starting a sync clears the message line: what could not be added must stay visible
                self._carried = problems
                self._show("\n".join(problems), error=True)

    def _removed(self, result: tuple[str, bool]) -> None:
        path, removed = result
        if removed:
            self._show(f"Removed {path} and its indexed data; the files on disk are untouched.")
        else:
            self._show(f"{path} was not in the index any more; nothing was removed.", error=True)
        self.refresh()

    def _start_sync(self, paths: list[str] | None, retry_failed: bool) -> None:
        if self._syncing:
            return
        self._set_syncing(True)
        self._show("")
        for root in self.roots.paths() if paths is None else []:
            self.roots.set_state(root, "queued")
        self._run(lambda: self._sync_work(paths, retry_failed), self._synced, "", self._sync_failed)

    def _progress(self, root: str, stage: str, done: int, total: int) -> None:
        if self.roots_view.show_progress(root, stage, done, total):
            self.progressed.emit(root, stage, done, total)

    def _root_synced(self, root: str, report: SyncReport) -> None:
        self.roots_view.drop_progress()
        changes = report.added + report.changed + report.removed
        state = f"synced: {report.added} added, {report.changed} changed, {report.removed} removed" if changes \
            else "up to date"
        self.roots.set_state(root, state + (f", {report.failed} failed" if report.failed else ""))

    def _synced(self, result: tuple[SyncReport, _Shown]) -> None:
        report, shown = result
        self._apply_status(shown)
        self._set_syncing(False)
        summary = summarize(report)
        carried, self._carried = self._carried, []
        self._show("\n".join([*carried, summary] + ([f"The index was repaired: {report.repaired}"]
                                                    if report.repaired else [])), error=bool(carried))
        self.sync_finished.emit(summary)

    def _sync_failed(self, exc: BaseException) -> None:
        if self.roots_view.bar_root:
            self.roots.set_state(self.roots_view.bar_root, "stopped")
        self.roots_view.drop_progress()
        self._set_syncing(False)
        self._show(f"Sync stopped: {describe(exc)}\nWhat is already indexed is kept; fix the problem and press "
                   "Sync now to continue.", error=True)
        # Show how far it got; if reading fails too, that is the same problem the message already names.
        self._run(self._read_status, self._apply_status, "", lambda _exc: None)

    def _paused_done(self, started: bool) -> None:
        self.pause_button.setEnabled(True)
        if not started:
            self._show("Nothing to watch yet: indexing starts once you add a folder.")
        self._apply_paused(not self.backend.watching, announce=True)

    def _apply_paused(self, paused: bool, *, announce: bool = False) -> None:
        changed, self._paused = paused != self._paused, paused
        self.pause_button.setText("Res&ume indexing" if paused else "&Pause indexing")
        self.pause_button.setAccessibleName(self.pause_button.text().replace("&", ""))
        self.watch_label.setText("Paused" if paused else "Watching for changes")
        if changed or announce:
            self.paused_changed.emit(paused)

    def _show_watcher_sync(self, summary: str) -> None:
        self.watch_label.setText(f"Watching · {summary}")
        self.watcher_synced.emit(summary)
        self.refresh()

    # -- helpers ------------------------------------------------------------------------------------------------

    def _run(self, work: Callable[[], Any], on_done: Callable[[Any], Any], failing: str,
             on_error: Callable[[BaseException], Any] | None = None) -> None:
        def report(exc: BaseException) -> None:
            self.pause_button.setEnabled(True)
            self._show(f"{failing}: {describe(exc)}", error=True)

        # The dialog may be gone by the time the lane answers (the app is closing): drop the answer then.
        self.tasks.run(work, lambda result: self._alive() and on_done(result),
                       lambda exc: self._alive() and (on_error or report)(exc), lane="index")

    def _post(self, fn: Callable[[], Any]) -> None:
        self.tasks.post(lambda: self._alive() and fn())

    def _alive(self) -> bool:
        return bool(shiboken6.isValid(self))

    def _set_syncing(self, syncing: bool) -> None:
        if syncing != self._syncing:
            self._syncing = syncing
            self._update_buttons()
            self.busy_changed.emit(syncing)

    def _update_buttons(self) -> None:
        self.remove_button.setEnabled(not self._syncing and self.roots_view.selected_row() is not None)
        self.sync_button.setEnabled(not self._syncing)
        self.retry_button.setEnabled(not self._syncing and self.failures.rowCount() > 0)

    def _show(self, text: str, *, error: bool = False) -> None:
        self._message_error = error and bool(text)
        self.message.setStyleSheet("color: #c62828;" if self._message_error else "")
        self.message.setText(text)
        self.message.setVisible(bool(text))

    def _choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Add a folder to the index", str(Path.home()))
        if folder:
            self.add_roots([Path(folder)])

    def _remove_selected(self) -> None:
        row = self.roots_view.selected_row()
        if row is None or self._syncing:
            return
        path = self.roots.path_at(row)
        yes, no = QMessageBox.StandardButton.Yes, QMessageBox.StandardButton.No
        answer = QMessageBox.question(
            self, "Remove from the index", f"Remove {path} from the index?\n\nIts indexed data (text chunks and file "
            "records) is deleted from Deskmate's index. The files on disk are not touched.", yes | no, no)
        if answer == yes:
            self._run(lambda: self._remove_work(path), self._removed, "Could not remove the folder")

    # -- Qt events ----------------------------------------------------------------------------------------------

    def showEvent(self, ev: QShowEvent) -> None:
        super().showEvent(ev)
        self.refresh()

    def dragEnterEvent(self, ev: QDragEnterEvent) -> None:
        ev.acceptProposedAction() if local_paths(ev.mimeData()) else ev.ignore()

    def dragMoveEvent(self, ev: QDragMoveEvent) -> None:
        ev.acceptProposedAction() if local_paths(ev.mimeData()) else ev.ignore()

    def dropEvent(self, ev: QDropEvent) -> None:
        paths = local_paths(ev.mimeData())
        if not paths:
            ev.ignore()
            self._show("Only files and folders on this computer can be added to the index.", error=True)
            return
        ev.acceptProposedAction()
        self.add_roots(paths)


class IndexManagerDialog(QDialog):
    """The index manager in its own non-modal window; Esc or Close hides it."""

    def __init__(self, backend: Backend, tasks: Tasks, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Index manager")
        self.setModal(False)
        self.widget = IndexManagerWidget(backend, tasks, self)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.widget)
        layout.addWidget(buttons)
        self.resize(820, 600)


def _button(text: str, description: str, slot: Callable[[], Any]) -> QPushButton:
    button = QPushButton(text)
    button.setAccessibleName(text.replace("&", "").rstrip("…"))
    button.setAccessibleDescription(description)
    button.clicked.connect(lambda _checked=False: slot())
    return button

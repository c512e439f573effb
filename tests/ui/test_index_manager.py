"""IndexManagerWidget: roots added by call and by drop, per-root sync progress, failures and retry, remove, pause."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication, QMessageBox

from app.gui.backend import Backend
from app.gui.index_manager import IndexManagerDialog, IndexManagerWidget, ago, throttled
from app.gui.index_tables import RootsTableModel
from app.gui.tasks import Tasks
from app.secrets import MemorySecretStore
from tests.unit.parsers.pdf_factory import make_pdf
from tools.errors import EmbedderError

LONG = 120_000  # the first sync of a test loads the embedder and parser processes


@pytest.fixture
def widget(qtbot, backend: Backend, tasks: Tasks) -> IndexManagerWidget:
    w = IndexManagerWidget(backend, tasks, sync_on_add=False)  # these tests start each sync themselves
    qtbot.addWidget(w)
    return w


def test_a_folder_added_in_the_app_is_indexed_right_away(qtbot, backend: Backend, tasks: Tasks, docs: Path) -> None:
    w = IndexManagerWidget(backend, tasks)  # as the app builds it
    qtbot.addWidget(w)
    with qtbot.waitSignal(w.sync_finished, timeout=LONG) as finished:
        w.add_roots([docs])  # no Sync now pressed
    assert "2 added" in finished.args[0]
    assert backend.session().index.status_report().files == 2
    with qtbot.waitSignal(w.sync_finished, timeout=LONG):
        w.add_roots([docs.parent / "nowhere", docs.parent])  # one bad path, one good: the good one is indexed
    assert "nowhere" in w.error_text  # and the bad one stays explained while the sync runs and after


def add(qtbot, widget: IndexManagerWidget, *paths: Path) -> None:
    with qtbot.waitSignal(widget.refreshed, timeout=LONG):
        widget.add_roots(list(paths))


def sync(qtbot, widget: IndexManagerWidget, start=None) -> str:  # type: ignore[no-untyped-def]
    with qtbot.waitSignal(widget.sync_finished, timeout=LONG) as finished:
        (start or widget.sync_all)()
    summary: str = finished.args[0]
    return summary


def cell(model: RootsTableModel, row: int, column: int) -> str:
    return str(model.data(model.index(row, column)))


def drop(widget: IndexManagerWidget, *urls: QUrl) -> tuple[bool, bool]:
    """Drag ``urls`` over the widget and drop them; whether the enter and the drop were accepted."""
    mime = QMimeData()
    mime.setUrls(list(urls))
    enter = QDragEnterEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                            Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, enter)
    event = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                       Qt.KeyboardModifier.NoModifier)
    event.setAccepted(False)
    widget.dropEvent(event)  # QApplication delivers a Drop only during a real drag, which offscreen Qt cannot start
    return enter.isAccepted(), event.isAccepted()


@pytest.fixture
def notes(tmp_path: Path) -> Path:
    folder = tmp_path / "notes"
    folder.mkdir()
    for name, text in (("plants.txt", "Water the plants on Friday."), ("car.md", "# Car\n\nService due in May."),
                       ("bike.md", "# Bike\n\nThe chain needs oil every month.")):
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def test_roots_are_added_by_call_and_by_dropping_local_folders(qtbot, widget: IndexManagerWidget, backend: Backend,
                                                               docs: Path, notes: Path) -> None:
    add(qtbot, widget, docs)
    assert widget.roots.paths() == [str(docs.resolve())]
    assert cell(widget.roots, 0, RootsTableModel.STATE) == "not synced yet"
    assert "press Sync now" in widget.message.text() and not widget.error_text

    assert drop(widget, QUrl("https://example.com/page")) == (False, False)  # nothing local: refused
    assert "on this computer" in widget.error_text
    with qtbot.waitSignal(widget.refreshed, timeout=LONG):
        accepted = drop(widget, QUrl.fromLocalFile(str(notes)), QUrl("https://example.com/page"))
    assert accepted == (True, True)
    expected = {str(docs.resolve()), str(notes.resolve())}
    assert set(widget.roots.paths()) == expected
    assert {r.path for r in backend.session().index.roots()} == expected
    assert not widget.error_text


def test_sync_moves_each_roots_own_bar_and_ends_with_the_index_counts(qtbot, widget: IndexManagerWidget,
                                                                      backend: Backend, docs: Path,
                                                                      notes: Path) -> None:
    add(qtbot, widget, docs, notes)
    seen: list[tuple[str, str, int, int, tuple[int, int] | None]] = []

    def record(root: str, stage: str, done: int, total: int) -> None:
        bar = widget.roots_view.progress_bar(root)
        seen.append((root, stage, done, total, None if bar is None else (bar.maximum(), bar.value())))

    widget.progressed.connect(record)
    busy: list[bool] = []
    widget.busy_changed.connect(busy.append)
    summary = sync(qtbot, widget)

    assert summary.startswith("scanned 5 files: 5 added, 0 changed, 0 removed, 0 unchanged, 0 failed; ")
    assert busy == [True, False] and not widget.busy
    order = [root for root, *_ in seen]
    assert [r for i, r in enumerate(order) if i == 0 or order[i - 1] != r] == widget.roots.paths()  # one at a time
    for folder, count in ((docs, 2), (notes, 3)):
        mine = [e for e in seen if e[0] == str(folder.resolve())]
        assert mine[0][1:4] == ("scan", 0, 0) and mine[0][4] is not None and mine[0][4][0] == 0  # a busy bar
        assert ("index", count, count, (count, count)) in [e[1:] for e in mine]  # the bar reached the end
        assert mine[-1][1] == "optimize"
        assert widget.roots_view.progress_bar(str(folder.resolve())) is None  # gone once the root is done

    status = backend.session().index.status_report()
    assert status.files == 5 and status.failed == 0
    assert widget.counts_label.text() == f"5 files, {status.chunks} chunks, 0 failed"
    for row, root in enumerate(status.roots):
        assert cell(widget.roots, row, RootsTableModel.FILES) == str(root.files)
        assert cell(widget.roots, row, RootsTableModel.STATE).startswith("synced: ")
    assert widget.last_sync_label.text() == "just now"
    emb = status.embedder
    assert widget.embedder_label.text() == f"{emb['model']} ({emb['recipe']}, {emb['dims']} dims)"
    assert widget.rebuilding_label.isHidden()

    again = sync(qtbot, widget, widget.sync_button.click)
    assert again.startswith("scanned 5 files: 0 added, 0 changed, 0 removed, 5 unchanged, 0 failed; ")
    assert cell(widget.roots, 0, RootsTableModel.STATE) == "up to date"


def test_a_broken_file_is_listed_with_its_reason_until_it_is_repaired(qtbot, widget: IndexManagerWidget,
                                                                      backend: Backend, docs: Path) -> None:
    broken = docs / "scan.pdf"
    broken.write_bytes(b"%PDF-1.4\n" + b"\x00garbage\xff" * 200)
    add(qtbot, widget, docs)
    assert "1 failed" in sync(qtbot, widget)
    assert widget.failures.rowCount() == 1 and widget.failures.path_at(0) == str(broken.resolve())
    reason = widget.failures.reason_of(str(broken.resolve()))
    assert reason and reason != "unknown reason"
    assert widget.counts_label.text().endswith(", 1 failed") and widget.retry_button.isEnabled()

    widget.failures_view.selectRow(0)  # retry just this file: it is parsed again and fails again
    summary = sync(qtbot, widget, widget.retry_button.click)
    assert summary.startswith("scanned 1 files: 0 added, 0 changed, 0 removed, 0 unchanged, 1 failed; ")
    assert widget.failures.rowCount() == 1 and widget.failures.reason_of(str(broken.resolve())) == reason

    make_pdf(broken, ["Scanned receipt for the new laptop."])
    widget.failures_view.clearSelection()  # nothing selected: retry every failed file
    sync(qtbot, widget, widget.retry_failed)
    assert widget.failures.rowCount() == 0 and not widget.retry_button.isEnabled()
    assert backend.session().index.status_report().files == 3
    assert widget.counts_label.text().startswith("3 files,") and widget.counts_label.text().endswith(", 0 failed")


def test_remove_asks_first_and_keeps_the_files_on_disk(qtbot, widget: IndexManagerWidget, backend: Backend,
                                                       docs: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    add(qtbot, widget, docs)
    sync(qtbot, widget)
    answers = [QMessageBox.StandardButton.No, QMessageBox.StandardButton.Yes]
    asked: list[str] = []

    def question(_parent, _title: str, text: str, *_args) -> QMessageBox.StandardButton:  # type: ignore[no-untyped-def]
        asked.append(text)
        return answers.pop(0)

    monkeypatch.setattr(QMessageBox, "question", question)
    assert not widget.remove_button.isEnabled()  # nothing selected yet
    widget.roots_view.selectRow(0)
    widget.remove_button.click()  # answered No: nothing happens
    assert widget.roots.rowCount() == 1 and len(backend.session().index.roots()) == 1
    assert "files on disk are not touched" in asked[0] and str(docs.resolve()) in asked[0]

    with qtbot.waitSignal(widget.refreshed, timeout=LONG):
        qtbot.keyClick(widget.roots_view, Qt.Key.Key_Delete)  # the Delete key asks too; Yes this time
    assert len(asked) == 2
    assert widget.roots.rowCount() == 0 and backend.session().index.roots() == []
    status = backend.session().index.status_report()
    assert status.files == 0 and status.chunks == 0
    assert widget.counts_label.text() == "0 files, 0 chunks, 0 failed"
    assert sorted(p.name for p in docs.iterdir()) == ["backup.md", "passport.md"]
    assert "untouched" in widget.message.text()


def test_pause_and_resume_drive_the_watcher(qtbot, widget: IndexManagerWidget, backend: Backend, docs: Path) -> None:
    with qtbot.waitSignal(widget.paused_changed, timeout=LONG) as nothing:
        widget.set_paused(False)  # nothing to watch yet: stays paused, and says so
    assert nothing.args == [True] and not backend.watching and "Nothing to watch yet" in widget.message.text()

    add(qtbot, widget, docs)  # resume was asked for: adding the first folder starts the watcher
    assert backend.watching
    with qtbot.waitSignal(widget.refreshed, timeout=LONG):
        widget.refresh()
    assert not widget.paused and widget.pause_button.text() == "&Pause indexing"
    with qtbot.waitSignal(widget.watcher_synced, timeout=LONG) as watched:
        (docs / "dentist.md").write_text("# Dentist\n\nCheck-up on the 3rd of June.\n", encoding="utf-8")
    assert "1 added" in watched.args[0]
    qtbot.waitUntil(lambda: widget.counts_label.text().startswith("1 files,"), timeout=LONG)

    with qtbot.waitSignal(widget.paused_changed, timeout=LONG) as paused:
        widget.pause_button.click()
    assert paused.args == [True] and widget.paused and not backend.watching
    assert widget.pause_button.text() == "Res&ume indexing" and widget.watch_label.text() == "Paused"

    with qtbot.waitSignal(widget.paused_changed, timeout=LONG) as resumed:
        widget.set_paused(False)  # what the tray's menu calls
    assert resumed.args == [False] and backend.watching and widget.pause_button.isEnabled()


def test_bad_paths_are_explained_and_nothing_is_lost(qtbot, widget: IndexManagerWidget, backend: Backend,
                                                     docs: Path, notes: Path, tmp_path: Path) -> None:
    add(qtbot, widget, docs)
    tool = tmp_path / "tool.exe"
    tool.write_bytes(b"MZ\x90\x00")
    add(qtbot, widget, tmp_path / "nowhere", tool, docs / "passport.md", notes)
    text = widget.error_text
    assert f"{tmp_path / 'nowhere'} does not exist" in text
    assert "tool.exe: Deskmate cannot index this kind of file" in text
    assert "already in the index" in text and f"Added {notes.resolve()}" in text
    assert not widget.message.isHidden()
    assert widget.roots.paths() == [r.path for r in backend.session().index.roots()]
    assert set(widget.roots.paths()) == {str(docs.resolve()), str(notes.resolve())}


def test_lane_errors_are_shown_inline(qtbot, tasks: Tasks, settings_paths) -> None:  # type: ignore[no-untyped-def]
    def broken(_backend: Backend) -> contextlib.AbstractContextManager[object]:
        raise EmbedderError("the embedding model cannot be loaded: run `deskmate models install-default`")

    backend = Backend(*settings_paths, secrets=MemorySecretStore(), opener=broken)  # type: ignore[arg-type]
    widget = IndexManagerWidget(backend, tasks)
    qtbot.addWidget(widget)
    busy: list[bool] = []
    widget.busy_changed.connect(busy.append)
    widget.sync_all()
    qtbot.waitUntil(lambda: busy == [True, False], timeout=LONG)
    assert widget.error_text.startswith("Sync stopped: the embedding model cannot be loaded: run `deskmate models")
    assert "fix the problem and press Sync now" in widget.error_text
    assert widget.sync_button.isEnabled()


def test_dialog_is_non_modal_and_keyboard_friendly(qtbot, backend: Backend, tasks: Tasks, docs: Path) -> None:
    dialog = IndexManagerDialog(backend, tasks)
    qtbot.addWidget(dialog)
    w = dialog.widget
    with qtbot.waitSignal(w.refreshed, timeout=LONG):
        dialog.show()  # showing it reloads the status
    assert dialog.windowTitle() == "Index manager" and not dialog.isModal()
    order = [w.roots_view, w.add_button, w.remove_button, w.sync_button, w.pause_button, w.failures_view,
             w.retry_button]
    chain, item = [], w.roots_view.nextInFocusChain()
    while item is not w.roots_view:  # the chain also holds labels and the tables' inner parts: keep the stops
        chain += [item] if item in order else []
        item = item.nextInFocusChain()
    assert [w.roots_view, *chain] == order
    assert all(x.accessibleName() for x in order)
    assert w.add_button.text() == "&Add folder…" and w.add_button.accessibleName() == "Add folder"
    qtbot.keyClick(dialog, Qt.Key.Key_Escape)
    assert not dialog.isVisible()


def test_progress_is_throttled_but_keeps_stage_changes_and_the_last_step() -> None:
    now = [0.0]
    passed: list[tuple[str, int, int]] = []
    progress = throttled(lambda *update: passed.append(update), interval=0.05, clock=lambda: now[0])
    for done in range(1, 201):  # 200 files, 1 ms apart: 0.2 s
        now[0] += 0.001
        progress("index", done, 200)
    progress("optimize", 0, 1)
    assert passed[0] == ("index", 1, 200) and passed[-2:] == [("index", 200, 200), ("optimize", 0, 1)]
    assert len(passed) <= 7  # about one per 50 ms, not 201


def test_last_sync_reads_as_people_say_it() -> None:
    assert ago(None) == "never"
    assert ago(1000.0, now=1010.0) == "just now"
    assert ago(1000.0, now=1000.0 + 60) == "1 minute ago"
    assert ago(1000.0, now=1000.0 + 3 * 3600 + 5) == "3 hours ago"
    assert ago(0.0, now=30 * 86400.0)[:4] in ("1969", "1970")


def test_links_out_of_the_folders_are_said_not_followed(qtbot, widget: IndexManagerWidget, docs: Path,
                                                        tmp_path: Path) -> None:
    outside = tmp_path / "outside-secret.txt"
    outside.write_text("root:x:0:0 the password file", encoding="utf-8")
    (docs / "x.txt").symlink_to(outside)
    add(qtbot, widget, docs)
    sync(qtbot, widget)
    assert widget.counts_label.text().endswith(", 0 failed, 1 link(s) not followed")
    assert str(docs.resolve() / "x.txt") in widget.counts_label.toolTip()
    assert "outside the indexed folders" in widget.counts_label.toolTip()

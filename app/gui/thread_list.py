"""ThreadListWidget: the conversations, newest first, with search, new, rename, delete and export."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QInputDialog,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.gui.backend import Backend
from app.gui.tasks import Tasks

if TYPE_CHECKING:
    from agents.conversations.threads import ThreadSummary

ID_ROLE = Qt.ItemDataRole.UserRole


class ThreadListWidget(QWidget):
    thread_selected = Signal(str)
    new_requested = Signal()
    thread_deleted = Signal(str)
    refreshed = Signal()

    def __init__(self, backend: Backend, tasks: Tasks, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.backend = backend
        self.tasks = tasks
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search conversations")
        self.search.setAccessibleName("Search conversations")
        self.search.setClearButtonEnabled(True)
        layout.addWidget(self.search)
        self.list = QListWidget()
        self.list.setAccessibleName("Conversations")
        layout.addWidget(self.list, 1)
        row = QHBoxLayout()
        self.new_button = QPushButton("&New")
        self.rename_button = QPushButton("&Rename")
        self.delete_button = QPushButton("Delete")
        self.export_button = QPushButton("E&xport")
        for button, tip in ((self.new_button, "A new conversation (Ctrl+N)"),
                            (self.rename_button, "Give the selected conversation a title (F2)"),
                            (self.delete_button, "Delete the selected conversation (Delete)"),
                            (self.export_button, "Save the selected conversation as Markdown or JSON")):
            button.setToolTip(tip)
            button.setAccessibleName(button.text().replace("&", ""))
            row.addWidget(button)
        layout.addLayout(row)
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(200)
        self._debounce.timeout.connect(self.refresh)
        self.search.textChanged.connect(lambda _: self._debounce.start())
        self.list.currentItemChanged.connect(self._selected)
        self.new_button.clicked.connect(self.new_requested)
        self.rename_button.clicked.connect(self.rename_selected)
        self.delete_button.clicked.connect(self.delete_selected)
        self.export_button.clicked.connect(self.export_selected)
        QShortcut(QKeySequence(Qt.Key.Key_F2), self.list, self.rename_selected)
        QShortcut(QKeySequence(QKeySequence.StandardKey.Delete), self.list, self.delete_selected)
        self._quiet = False
        self._update_buttons()

    @property
    def selected_id(self) -> str | None:
        item = self.list.currentItem()
        return str(item.data(ID_ROLE)) if item is not None else None

    def refresh(self, select: str | None = None) -> None:
        """Reload the list (agent lane); keep or set the selection without emitting ``thread_selected``."""
        text = self.search.text().strip()
        keep = select or self.selected_id

        def load() -> list[ThreadSummary]:
            threads = self.backend.session().threads
            return threads.search(text) if text else threads.list()

        self.tasks.run(load, on_done=lambda found: self._fill(found, keep), lane="agent")

    def _fill(self, found: list[ThreadSummary], keep: str | None) -> None:
        self._quiet = True
        try:
            self.list.clear()
            for summary in found:
                when = time.strftime("%d %b %H:%M", time.localtime(summary.updated)) if summary.updated else ""
                item = QListWidgetItem(f"{summary.title}\n{when} · {summary.turns} turn(s)")
                item.setData(ID_ROLE, summary.thread_id)
                item.setToolTip(summary.title)
                self.list.addItem(item)
                if summary.thread_id == keep:
                    self.list.setCurrentItem(item)
        finally:
            self._quiet = False
        self._update_buttons()
        self.refreshed.emit()

    def _selected(self, current: QListWidgetItem | None, _previous: Any) -> None:
        self._update_buttons()
        if current is not None and not self._quiet:
            self.thread_selected.emit(str(current.data(ID_ROLE)))

    def _update_buttons(self) -> None:
        has = self.list.currentItem() is not None
        for button in (self.rename_button, self.delete_button, self.export_button):
            button.setEnabled(has)

    def rename_selected(self) -> None:
        thread = self.selected_id
        if thread is None:
            return
        current = self.list.currentItem().text().split("\n", 1)[0]
        title, ok = QInputDialog.getText(self, "Rename conversation", "Title:", text=current)
        if ok and title.strip():
            self.tasks.run(lambda: self.backend.session().threads.rename(thread, title.strip()),
                           on_done=lambda _: self.refresh(thread), lane="agent")

    def delete_selected(self) -> None:
        thread = self.selected_id
        if thread is None:
            return
        answer = QMessageBox.question(self, "Delete conversation",
                                      "Delete this conversation? Its questions and answers are removed for good.")
        if answer != QMessageBox.StandardButton.Yes:
            return

        def deleted(_: object) -> None:
            self.thread_deleted.emit(thread)
            self.refresh()

        self.tasks.run(lambda: self.backend.session().threads.delete(thread), on_done=deleted, lane="agent")

    def export_selected(self) -> None:
        thread = self.selected_id
        if thread is None:
            return
        path, _ = QFileDialog.getSaveFileName(self, "Export conversation", str(Path.home() / f"{thread}.md"),
                                              "Markdown (*.md);;JSON (*.json)")
        if path:
            self.export_to(thread, Path(path))

    def export_to(self, thread: str, path: Path) -> None:
        def write() -> Path:
            threads = self.backend.session().threads
            if path.suffix.lower() == ".json":
                text = json.dumps(threads.export_json(thread), indent=2, ensure_ascii=False)
            else:
                text = threads.export_markdown(thread)
            path.write_text(text, encoding="utf-8")
            return path

        self.tasks.run(write, lane="agent")

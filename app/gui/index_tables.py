"""The index manager's two tables: the roots (with a progress bar in the row that syncs) and the failed files."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QProgressBar, QTableView, QWidget

Index = QModelIndex | QPersistentModelIndex
_RIGHT = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)


@dataclass(slots=True)
class RootRow:
    path: str
    files: int
    missing: bool = False


class _RowsModel(QAbstractTableModel):
    """A flat table over ``self._rows`` with fixed ``HEADERS``: the counting and header part both tables share."""

    HEADERS: tuple[str, ...] = ()
    _rows: list[Any]

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt's own default argument
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.HEADERS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.HEADERS[section]
        return None


class RootsTableModel(_RowsModel):
    """One row per index root: path, files, a column the view fills with a progress bar while it syncs, state."""

    HEADERS = ("Folder", "Files", "Progress", "State")
    PATH, FILES, PROGRESS, STATE = range(4)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._rows: list[RootRow] = []
        self._states: dict[str, str] = {}  # by path: also for a root just added, before the next status shows it

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row, column = self._rows[index.row()], index.column()
        state = "missing on disk: reconnect the drive or remove it" if row.missing else self._states.get(row.path, "")
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole):
            return {self.PATH: row.path, self.FILES: str(row.files), self.STATE: state}.get(column, "")
        if role == Qt.ItemDataRole.ToolTipRole and column in (self.PATH, self.STATE):
            return row.path if column == self.PATH else state
        if role == Qt.ItemDataRole.TextAlignmentRole and column == self.FILES:
            return _RIGHT
        return None

    def set_roots(self, roots: list[dict[str, Any]], missing: set[str]) -> None:
        """Show ``status()["roots"]``, with ``missing`` the roots no longer on disk; sync states are kept."""
        rows = [RootRow(r["path"], int(r["files"]), r["path"] in missing) for r in roots]
        if [r.path for r in rows] == [r.path for r in self._rows]:
            # Same roots: update in place, so the view keeps its selection and any progress bar it shows.
            self._rows = rows
            if rows:
                self.dataChanged.emit(self.index(0, 0), self.index(len(rows) - 1, len(self.HEADERS) - 1))
            return
        self.beginResetModel()
        self._rows = rows
        self.endResetModel()

    def set_state(self, path: str, state: str) -> None:
        self._states[path] = state
        row = self.row_of(path)
        if row >= 0:
            cell = self.index(row, self.STATE)
            self.dataChanged.emit(cell, cell)

    def row_of(self, path: str) -> int:
        return next((i for i, r in enumerate(self._rows) if r.path == path), -1)

    def path_at(self, row: int) -> str:
        return self._rows[row].path

    def paths(self) -> list[str]:
        return [r.path for r in self._rows]


class FailuresTableModel(_RowsModel):
    """The files the last syncs could not index, with the reason the user needs to fix them."""

    HEADERS = ("File", "Reason")

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._rows: list[tuple[str, str]] = []

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole, Qt.ItemDataRole.AccessibleTextRole):
            return self._rows[index.row()][index.column()]
        return None

    def set_failures(self, failures: list[dict[str, Any]]) -> None:
        self.beginResetModel()
        self._rows = [(str(f["path"]), str(f["reason"] or "unknown reason")) for f in failures]
        self.endResetModel()

    def path_at(self, row: int) -> str:
        return self._rows[row][0]

    def reason_of(self, path: str) -> str | None:
        return next((reason for p, reason in self._rows if p == path), None)


class IndexTableView(QTableView):
    """A read-only table of whole rows, one selected at a time; Tab leaves it instead of walking its cells."""

    def __init__(self, model: QAbstractTableModel, name: str, *, stretch: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setModel(model)
        self.setAccessibleName(name)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setTabKeyNavigation(False)
        self.verticalHeader().hide()
        header = self.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(stretch, QHeaderView.ResizeMode.Stretch)

    def selected_row(self) -> int | None:
        rows = self.selectionModel().selectedRows()
        return rows[0].row() if rows else None


class RootsTableView(IndexTableView):
    """The roots table; one root syncs at a time, so one progress bar at most, in that root's row."""

    delete_pressed = Signal()  # the Delete key: the widget asks before removing the selected root

    def __init__(self, model: RootsTableModel, parent: QWidget | None = None) -> None:
        super().__init__(model, "Indexed folders", stretch=RootsTableModel.PATH, parent=parent)
        self.roots = model
        self._bar: QProgressBar | None = None
        self._bar_root = ""

    @property
    def bar_root(self) -> str:
        return self._bar_root

    def progress_bar(self, root: str) -> QProgressBar | None:
        return self._bar if self._bar is not None and self._bar_root == root else None

    def show_progress(self, root: str, stage: str, done: int, total: int) -> bool:
        """Move ``root``'s bar (made on first use): done/total while indexing, busy while the total is unknown."""
        bar = self.progress_bar(root)
        if bar is None:
            self.drop_progress()
            row = self.roots.row_of(root)
            if row < 0:
                return False
            bar = self._bar = QProgressBar()
            self._bar_root = root
            bar.setAccessibleName(f"Indexing progress of {root}")
            self.setIndexWidget(self.roots.index(row, RootsTableModel.PROGRESS), bar)
        if stage == "index" and total:
            bar.setRange(0, total)
            bar.setValue(done)
            state = f"indexing {done}/{total}"
        else:
            bar.setRange(0, 0)
            state = "optimizing…" if stage == "optimize" else (f"scanning… {done} files" if done else "scanning…")
        self.roots.set_state(root, state)
        return True

    def drop_progress(self) -> None:
        row = self.roots.row_of(self._bar_root)
        if self._bar is not None and row >= 0:
            # Qt deletes the bar it shows when handed no widget for that cell.
            self.setIndexWidget(self.roots.index(row, RootsTableModel.PROGRESS), None)  # type: ignore[arg-type]
        self._bar, self._bar_root = None, ""

    def keyPressEvent(self, ev: QKeyEvent) -> None:
        if ev.key() == Qt.Key.Key_Delete and self.selected_row() is not None:
            self.delete_pressed.emit()
            return
        super().keyPressEvent(ev)

"""The conversation's scope above the question: chips (× removes one), an Add scope menu, and ``@`` to mention a file.

The menu offers only what the index holds: its folders (or a folder inside one), the file types of its files, and a
date range. The owner (the main window) loads the index's roots and files off the GUI thread and hands them over with
``set_catalogue``; the bar never touches the index itself. A reopened conversation keeps its own scope until the user
sets a new one (``show_inherited``); a chip added then starts a new scope for the turns that follow.

File names are data: shown as plain text, and a name that is not valid Unicode (a non-UTF-8 file name) is shown with
replacement characters while the real path is kept.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections import Counter
from collections.abc import Sequence
from datetime import date
from functools import partial
from typing import TYPE_CHECKING

from PySide6.QtCore import QDate, QObject, QStringListModel, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QCompleter,
    QDateEdit,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QMenu,
    QPlainTextEdit,
    QPushButton,
    QToolButton,
    QWidget,
)

from tools.index.parsers import SUPPORTED

if TYPE_CHECKING:
    from tools.index.knowledge import KnowledgeIndex
    from tools.index.scope import Scope  # imported when first needed: it pulls in the index (seconds at start-up)

MAX_MENTIONABLE = 50_000  # files offered after "@"; an index larger than this offers the first ones (sorted)
_SURROGATE = re.compile("[\ud800-\udfff]")
_MENTION = re.compile(r"(?<!\S)@([^\s@]{0,300})$")


def shown(text: str) -> str:
    """``text`` as Qt can show it: a lone surrogate (from a non-UTF-8 file name) becomes U+FFFD."""
    return _SURROGATE.sub("\ufffd", text)


def _inside(path: str, roots: Sequence[str]) -> bool:
    path = os.path.realpath(path)
    return any(path == root or path.startswith(root.rstrip(os.sep) + os.sep) for root in roots)


def read_catalogue(index: KnowledgeIndex) -> tuple[list[str], list[str]]:
    """The index's folders and its indexed files (call it off the GUI thread)."""
    from tools.index.documents import indexed_paths

    return [root.path for root in index.roots()], indexed_paths(index)


def file_type(path: str) -> str:
    """The type a file counts as in a scope: the index's type for its extension, else the extension itself."""
    suffix = os.path.splitext(path)[1].lower()
    return SUPPORTED.get(suffix, suffix.lstrip(".")) or "no extension"


class ScopeChip(QFrame):
    """One part of the scope ("folder: Projects") with × to take it out."""

    removed = Signal(object)  # the chip's label (object: a str signal would drop a non-UTF-8 name's surrogates)

    def __init__(self, label: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.label_text = label
        self.setObjectName("scopeChip")
        self.setStyleSheet("#scopeChip { border: 1px solid palette(mid); border-radius: 9px; }")
        row = QHBoxLayout(self)
        row.setContentsMargins(8, 0, 2, 0)
        row.setSpacing(2)
        self.text = QLabel(shown(label))
        self.text.setTextFormat(Qt.TextFormat.PlainText)
        self.text.setAccessibleName(f"Scope: {shown(label)}")
        row.addWidget(self.text)
        self.remove = QToolButton()
        self.remove.setText("×")
        self.remove.setAutoRaise(True)
        self.remove.setAccessibleName(f"Remove {shown(label)} from the scope")
        self.remove.setToolTip("Remove from the scope")
        self.remove.clicked.connect(lambda: self.removed.emit(self.label_text))
        row.addWidget(self.remove)


class DateRangeDialog(QDialog):
    """From (the first day kept) and Before (the first day left out), each optional."""

    def __init__(self, after: date | None, before: date | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Keep to a date range")
        form = QFormLayout(self)
        today = QDate.currentDate()
        self.use_after, self.after = QCheckBox("&From"), QDateEdit(_qdate(after) or today.addYears(-1))
        self.use_before, self.before = QCheckBox("&Before"), QDateEdit(_qdate(before) or today.addDays(1))
        for check, edit, name in ((self.use_after, self.after, "First day kept"),
                                  (self.use_before, self.before, "First day left out")):
            edit.setCalendarPopup(True)
            edit.setDisplayFormat("yyyy-MM-dd")
            edit.setAccessibleName(name)
            check.setAccessibleName(f"Use: {name.lower()}")
            form.addRow(check, edit)
        self.use_after.setChecked(after is not None)
        self.use_before.setChecked(before is not None)
        self.error = QLabel("")
        self.error.setAccessibleName("Date range problem")
        form.addRow(self.error)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self._accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def dates(self) -> tuple[date | None, date | None]:
        after = self.after.date().toPython() if self.use_after.isChecked() else None
        before = self.before.date().toPython() if self.use_before.isChecked() else None
        return after, before  # type: ignore[return-value]

    def _accept(self) -> None:
        after, before = self.dates()
        if after and before and after >= before:
            self.error.setText("The first day kept must come before the first day left out.")
            return
        self.accept()


def _qdate(day: date | None) -> QDate | None:
    return QDate(day.year, day.month, day.day) if day else None


class ScopeBarWidget(QWidget):
    """The scope's chips and the Add scope menu; ``scope_changed`` carries the new Scope (empty: the whole index)."""

    scope_changed = Signal(object)
    refused = Signal(str)  # why a choice was not taken (a folder outside the index), for the window's banner

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.scope: Scope | None = None  # None: nothing chosen here (the whole index, or the thread's own scope)
        self.roots: list[str] = []
        self.paths: list[str] = []
        self.chips: list[ScopeChip] = []
        self.pick_folder = QFileDialog.getExistingDirectory  # tests replace it
        self.pick_dates = self._dates_dialog  # tests replace it
        self._row = QHBoxLayout(self)
        self._row.setContentsMargins(0, 0, 0, 0)
        self._row.setSpacing(4)
        self.whole = QLabel("Searching the whole index")
        self.whole.setAccessibleName("Scope")
        self.whole.setStyleSheet("color: palette(placeholder-text);")
        self._row.addWidget(self.whole)
        self._row.addStretch(1)
        self.add_button = QPushButton("Add &scope")
        self.add_button.setAccessibleName("Add to the scope")
        self.add_button.setToolTip("Keep this conversation to folders, files, types or dates (type @ to name a file)")
        self.menu = QMenu(self.add_button)
        self.menu.aboutToShow.connect(self._fill_menu)
        self.add_button.setMenu(self.menu)
        self._row.addWidget(self.add_button)

    # -- what the index offers ----------------------------------------------------------------------------------

    def set_catalogue(self, roots: Sequence[str], paths: Sequence[str]) -> None:
        self.roots = [os.path.realpath(r) for r in roots]
        self.paths = list(paths)

    def types(self) -> list[tuple[str, int]]:
        """The index's file types, most common first, with how many files each has."""
        return Counter(file_type(p) for p in self.paths).most_common()

    def _fill_menu(self) -> None:
        self.menu.clear()
        folders = self.menu.addMenu("&Folder")
        for root in self.roots:
            folders.addAction(shown(root), partial(self.add_folder, root))
        if self.roots:
            folders.addSeparator()
        folders.addAction("A folder &inside them…", self.choose_folder).setEnabled(bool(self.roots))
        types = self.menu.addMenu("File &type")
        for name, count in self.types():
            types.addAction(f"{shown(name)} ({count})", partial(self.add_type, name))
        types.setEnabled(bool(self.paths))
        self.menu.addAction("&Dates…", self.choose_dates)
        self.menu.addAction("A fi&le: type @ and its name", lambda: None).setEnabled(False)

    # -- changing the scope -------------------------------------------------------------------------------------

    def set_scope(self, scope: Scope | None) -> None:
        """Show ``scope`` (None or empty: the whole index) without emitting ``scope_changed``."""
        self.scope = scope
        for chip in self.chips:
            chip.deleteLater()
        self.chips = []
        for label in scope.describe() if scope is not None else []:
            chip = ScopeChip(label)
            chip.removed.connect(self.remove)
            self._row.insertWidget(len(self.chips), chip)
            self.chips.append(chip)
        self.whole.setText("Searching the whole index")
        self.whole.setToolTip("")
        self.whole.setVisible(not self.chips)

    def show_inherited(self) -> None:
        """A reopened conversation: its own scope (if it has one) applies until a chip is added here."""
        self.set_scope(None)
        self.whole.setText("This conversation's own scope")
        self.whole.setToolTip("The scope it was given before applies; adding to the scope here sets a new one.")

    @property
    def current(self) -> Scope:
        from tools.index.scope import Scope

        return self.scope if self.scope is not None else Scope()

    def _change(self, scope: Scope) -> None:
        if scope != self.scope:
            self.set_scope(scope)
            self.scope_changed.emit(scope)

    def remove(self, label: str) -> None:
        self._change(self.current.without(label))

    def add_folder(self, folder: str) -> bool:
        folder = os.path.realpath(folder)
        if not _inside(folder, self.roots):
            self.refused.emit(f"{shown(folder)} is not inside an indexed folder; add it in the index manager first.")
            return False
        scope = self.current
        if folder not in scope.folders:
            self._change(dataclasses.replace(scope, folders=(*scope.folders, folder)))
        return True

    def add_file(self, path: str) -> None:
        scope = self.current
        if path not in scope.files:
            self._change(dataclasses.replace(scope, files=(*scope.files, path)))

    def add_type(self, kind: str) -> None:
        scope = self.current
        if kind not in scope.types:
            self._change(dataclasses.replace(scope, types=(*scope.types, kind)))

    def set_dates(self, after: date | None, before: date | None) -> None:
        if after and before and after >= before:
            self.refused.emit(f"No day is both from {after.isoformat()} and before {before.isoformat()}.")
            return
        self._change(dataclasses.replace(self.current, after=after, before=before))

    def choose_folder(self) -> None:
        start = self.roots[0] if self.roots else ""
        folder = self.pick_folder(self, "Keep the conversation to a folder", start)
        if folder:
            self.add_folder(folder)

    def choose_dates(self) -> None:
        chosen = self.pick_dates(self.current.after, self.current.before)
        if chosen is not None:
            self.set_dates(*chosen)

    def _dates_dialog(self, after: date | None, before: date | None) -> tuple[date | None, date | None] | None:
        dialog = DateRangeDialog(after, before, self)
        return dialog.dates() if dialog.exec() == QDialog.DialogCode.Accepted else None


class MentionCompleter(QObject):
    """``@`` and part of a name, in a question box, offers the indexed files.

    Choosing one takes the ``@word`` out of the text and emits ``chosen(path)``; ``wanted`` asks the owner for the
    files the first time.
    """

    chosen = Signal(object)  # the path (object: a str signal would drop a non-UTF-8 name's surrogates)
    wanted = Signal()

    def __init__(self, edit: QPlainTextEdit) -> None:
        super().__init__(edit)
        self.edit = edit
        self.model = QStringListModel(self)
        self.completer = QCompleter(self.model, self)
        self.completer.setWidget(edit)
        self.completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.completer.setFilterMode(Qt.MatchFlag.MatchContains)
        self.completer.setCompletionMode(QCompleter.CompletionMode.PopupCompletion)
        self.completer.setMaxVisibleItems(12)
        self.popup.setAccessibleName("Files to mention")
        self.completer.activated[str].connect(self._activated)  # type: ignore[index] # the str overload
        if hasattr(edit, "completer"):
            edit.completer = self.completer  # QuestionEdit lets the popup have Enter, Tab and Esc
        self._paths: dict[str, str] | None = None  # shown text -> path
        self._asked = False
        self._prefix: str | None = None
        edit.textChanged.connect(self.update)

    @property
    def popup(self) -> QAbstractItemView:
        popup = self.completer.popup()
        assert popup is not None  # QCompleter makes its own list view
        return popup

    @property
    def loaded(self) -> bool:
        return self._paths is not None

    def set_paths(self, paths: Sequence[str]) -> None:
        """The files to offer: shown as "name — folder", most specific text first."""
        entries: dict[str, str] = {}
        for path in list(paths)[:MAX_MENTIONABLE]:
            folder, name = os.path.split(path)
            entries[f"{shown(name)} — {shown(folder)}"] = path
        self._paths = entries
        self.model.setStringList(list(entries))
        self.update()

    def update(self) -> None:
        """Open, narrow or close the popup for the ``@word`` just before the cursor."""
        cursor = self.edit.textCursor()
        before = self.edit.toPlainText()[: cursor.position()]
        match = _MENTION.search(before)
        popup = self.popup
        if match is None:
            self._prefix = None
            popup.hide()
            return
        self._prefix = match.group(1)
        if self._paths is None:
            if not self._asked:
                self._asked = True
                self.wanted.emit()
            return
        self.completer.setCompletionPrefix(self._prefix)
        if self.completer.completionCount() == 0:
            popup.hide()
            return
        rect = self.edit.cursorRect()
        rect.setWidth(max(320, popup.sizeHintForColumn(0) + 24))
        self.completer.complete(rect)

    def _activated(self, text: str) -> None:
        path = (self._paths or {}).get(text)
        if path is None or self._prefix is None:
            return
        cursor = self.edit.textCursor()
        cursor.movePosition(cursor.MoveOperation.Left, cursor.MoveMode.KeepAnchor, len(self._prefix) + 1)
        cursor.removeSelectedText()
        self.edit.setTextCursor(cursor)
        self._prefix = None
        self.chosen.emit(path)

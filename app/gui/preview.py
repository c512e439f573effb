"""CitationPreviewDialog: the cited file inside Deskmate, scrolled to the quoted lines and highlighted.

Only files under an indexed root are shown (the same sandbox the file tools use); PDFs and other binary formats show
the quoted text and open in the system's default application instead.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QUrl
from PySide6.QtGui import QColor, QKeySequence, QShortcut, QTextCharFormat, QTextCursor, QTextFormat
from PySide6.QtWidgets import QDialog, QHBoxLayout, QLabel, QPlainTextEdit, QPushButton, QTextEdit, QVBoxLayout, QWidget

if TYPE_CHECKING:
    from agents.citations import Citation

TEXT_SUFFIXES = {".txt", ".md", ".markdown", ".rst", ".py", ".js", ".ts", ".json", ".toml", ".yaml", ".yml", ".csv",
                 ".tsv", ".ini", ".cfg", ".log", ".html", ".htm", ".xml", ".c", ".h", ".cpp", ".java", ".go", ".rs",
                 ".sh", ".sql", ".tex", ".css"}
MAX_PREVIEW_BYTES = 4 * 1024 * 1024


def previewable(path: str) -> bool:
    p = Path(path)
    return p.suffix.lower() in TEXT_SUFFIXES and p.is_file() and p.stat().st_size <= MAX_PREVIEW_BYTES


class CitationPreviewDialog(QDialog):
    def __init__(self, citation: Citation, open_external: Callable[[QUrl], object],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.citation = citation
        self.setWindowTitle(f"Source: {citation.where()}")
        self.resize(760, 560)
        layout = QVBoxLayout(self)
        self.where = QLabel(citation.where() + (f" — {citation.heading}" if citation.heading else ""))
        self.where.setWordWrap(True)
        layout.addWidget(self.where)
        self.text = QPlainTextEdit()
        self.text.setReadOnly(True)
        self.text.setAccessibleName("Source text")
        layout.addWidget(self.text)
        row = QHBoxLayout()
        row.addStretch(1)
        self.open_button = QPushButton("&Open in default app")
        self.open_button.setAccessibleName("Open the file in its default application")
        self.open_button.clicked.connect(lambda: open_external(QUrl.fromLocalFile(citation.path)))
        row.addWidget(self.open_button)
        close = QPushButton("&Close")
        close.clicked.connect(self.close)
        row.addWidget(close)
        layout.addLayout(row)
        QShortcut(QKeySequence("Esc"), self, self.close)
        self.highlighted = self._load()

    def _load(self) -> tuple[int, int] | None:
        c = self.citation
        if not previewable(c.path):
            self.text.setPlainText(f"“{c.quote}”\n\n(This file type opens in its default application.)")
            return None
        content = Path(c.path).read_text(encoding="utf-8", errors="replace")
        self.text.setPlainText(content)
        doc = self.text.document()
        if c.line_start is not None:
            first = doc.findBlockByNumber(c.line_start - 1)
            last = doc.findBlockByNumber((c.line_end or c.line_start) - 1)
            start, end = first.position(), last.position() + last.length() - 1
        else:
            found = content.find(c.quote[:200])
            if found < 0:
                return None
            start, end = found, found + len(c.quote)
        cursor = QTextCursor(doc)
        cursor.setPosition(start)
        cursor.setPosition(max(start, end), QTextCursor.MoveMode.KeepAnchor)
        selection = QTextEdit.ExtraSelection()
        fmt = QTextCharFormat()
        fmt.setBackground(QColor("#fde68a"))
        fmt.setForeground(QColor("#18181b"))
        fmt.setProperty(QTextFormat.Property.FullWidthSelection, True)
        selection.format = fmt
        selection.cursor = cursor
        self.text.setExtraSelections([selection])
        view = QTextCursor(doc)
        view.setPosition(start)
        self.text.setTextCursor(view)
        self.text.centerCursor()
        return start, end

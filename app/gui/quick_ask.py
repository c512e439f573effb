"""QuickAskDialog: a frameless popup for one question from anywhere (tray, global shortcut, ``deskmate --quick-ask``).

It is built once at start-up and only shown and hidden afterwards, so it appears within a frame of being asked for.
It answers with the same agent as the main window, in its own conversation thread, which "Continue in main window"
hands over.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QPoint, QRect, Qt, Signal
from PySide6.QtGui import QClipboard, QCursor, QGuiApplication, QKeyEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QLineEdit, QPushButton, QVBoxLayout, QWidget

from app.gui.backend import Backend
from app.gui.chat_view import AnswerBrowser, describe_mode, short_where
from app.gui.tasks import Tasks
from app.gui.turns import ApprovalRequest, TurnController

if TYPE_CHECKING:
    from agents.citations import Citation

WIDTH, HEIGHT = 560, 380


class QuickAskDialog(QFrame):
    continue_in_main = Signal(object)  # the thread id (None if nothing was asked yet)
    cite_clicked = Signal(object)
    shown = Signal()

    def __init__(self, backend: Backend, tasks: Tasks, parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Tool | Qt.WindowType.FramelessWindowHint
                         | Qt.WindowType.WindowStaysOnTopHint)
        self.backend = backend
        self.setObjectName("quickAsk")
        self.setWindowTitle("Deskmate quick ask")
        self.setAccessibleName("Quick ask")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setStyleSheet("#quickAsk { border: 1px solid palette(highlight); border-radius: 8px; }")
        self.resize(WIDTH, HEIGHT)
        self.turns = TurnController(backend, tasks, self)
        self.citations: list[Citation] = []
        layout = QVBoxLayout(self)
        self.input = QLineEdit()
        self.input.setPlaceholderText("Ask Deskmate…  (Enter to ask, Esc to close)")
        self.input.setAccessibleName("Quick question")
        self.input.returnPressed.connect(self.ask)
        layout.addWidget(self.input)
        self.status = QLabel("")
        self.status.setTextFormat(Qt.TextFormat.PlainText)  # error messages carry paths and document words
        self.status.setWordWrap(True)
        self.status.setAccessibleName("Quick answer status")
        layout.addWidget(self.status)
        self.answer = AnswerBrowser(fit=False)
        self.answer.setAccessibleName("Quick answer")
        self.answer.setMinimumHeight(160)
        self.answer.cite_clicked.connect(self._cite_number)
        layout.addWidget(self.answer, 1)
        self.sources = QLabel("")
        self.sources.setWordWrap(True)
        self.sources.setTextFormat(Qt.TextFormat.PlainText)
        self.sources.setAccessibleName("Sources")
        layout.addWidget(self.sources)
        row = QHBoxLayout()
        self.badge = QLabel("")
        self.badge.setAccessibleName("Answer mode")
        row.addWidget(self.badge)
        row.addStretch(1)
        self.stop_button = QPushButton("S&top")
        self.stop_button.setEnabled(False)
        self.stop_button.clicked.connect(self.turns.stop)
        row.addWidget(self.stop_button)
        self.continue_button = QPushButton("&Continue in main window")
        self.continue_button.setAccessibleName("Continue in main window")
        self.continue_button.clicked.connect(self._continue)
        row.addWidget(self.continue_button)
        layout.addLayout(row)
        QShortcut(QKeySequence("Esc"), self, self.close_popup)
        self._streamed = ""
        self.turns.started.connect(self._started)
        self.turns.received.connect(self._event)
        self.turns.approval.connect(self._needs_approval)
        self.turns.failed.connect(lambda message: self.status.setText(f"Could not answer: {message}"))
        self.turns.finished.connect(lambda: self.stop_button.setEnabled(False))

    # -- showing ---------------------------------------------------------------------------------------------

    def popup(self, text: str | None = None, near_cursor: bool = True) -> None:
        """Show, focused, near the cursor (or centred); prefilled with ``text`` or what the settings ask for."""
        prefill = text if text is not None else self._prefill()
        if prefill:
            self.input.setText(prefill)
            self.input.selectAll()
        self.move(self._position(near_cursor))
        self.show()
        self.raise_()
        self.activateWindow()
        self.input.setFocus()
        self.shown.emit()

    def close_popup(self) -> None:
        self.turns.stop()
        self.hide()

    def _prefill(self) -> str:
        mode = self.backend.settings.desktop.quick_ask_prefill
        clipboard = QGuiApplication.clipboard()
        if mode == "selection" and clipboard.supportsSelection():
            return clipboard.text(QClipboard.Mode.Selection).strip()[:2000]
        if mode in ("selection", "clipboard"):
            return clipboard.text().strip()[:2000]
        return ""

    def _position(self, near_cursor: bool) -> QPoint:
        cursor = QCursor.pos()
        screen = QGuiApplication.screenAt(cursor) if near_cursor else None
        screen = screen or QGuiApplication.primaryScreen()
        area: QRect = screen.availableGeometry()
        if not near_cursor or not area.contains(cursor):
            return area.center() - QPoint(self.width() // 2, self.height() // 2)
        x = min(max(cursor.x() - self.width() // 2, area.left()), area.right() - self.width())
        y = min(max(cursor.y() + 16, area.top()), area.bottom() - self.height())
        return QPoint(x, y)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt's name
        if event.key() == Qt.Key.Key_Escape:
            self.close_popup()
            return
        super().keyPressEvent(event)

    # -- asking -------------------------------------------------------------------------------------------------

    def ask(self) -> None:
        self.turns.ask(self.input.text())

    def _started(self, question: str) -> None:
        self._streamed = ""
        self.citations = []
        self.sources.setText("")
        self.badge.setText("")
        self.answer.set_markdown("")
        self.status.setText("Looking in your files…")
        self.stop_button.setEnabled(True)

    def _event(self, event: object) -> None:
        from agents.runner import DraftAnswer, TokenDelta, TurnDone, TurnFailed

        if isinstance(event, DraftAnswer) and not self._streamed:
            self.status.setText("From your files, while the model thinks:")
            self.answer.set_markdown(event.text)
            self._set_sources(event.citations)
        elif isinstance(event, TokenDelta):
            self._streamed += event.text
            self.status.setText("The model is answering…")
            self.answer.stream_markdown(self._streamed)
        elif isinstance(event, TurnFailed):
            self.status.setText(f"Could not answer: {event.error}")
        elif isinstance(event, TurnDone):
            self.answer.set_markdown(event.answer)
            self._set_sources(event.citations)
            text, tip = describe_mode(event.mode, event.model, event.fallback_reason,
                                      self.backend.model_kind(event.model))
            self.badge.setText(text)
            self.badge.setToolTip(tip)
            self.status.setText("")

    def _needs_approval(self, request: ApprovalRequest) -> None:
        # A side effect deserves the full window (what the tool will do, and the three choices): the popup declines,
        # and says where to allow it.
        request.answer(False)
        self.status.setText(f"{request.tool} was not run: the quick popup never runs tools with side effects. "
                            "Use “Continue in main window” and ask there to allow it.")

    def _set_sources(self, citations: list[Citation]) -> None:
        self.citations = list(citations)
        self.sources.setText("  ".join(f"[{n}] {short_where(c)}" for n, c in enumerate(self.citations, 1)))
        self.sources.setToolTip("\n".join(f"[{n}] {c.where()}" for n, c in enumerate(self.citations, 1)))

    def _cite_number(self, number: int) -> None:
        if 1 <= number <= len(self.citations):
            self.cite_clicked.emit(self.citations[number - 1])

    def _continue(self) -> None:
        thread = self.turns.thread_id
        self.hide()
        self.continue_in_main.emit(thread)
        self.turns.new_thread()
        self.input.clear()

"""The parts of an answer: the rendered Markdown (AnswerBrowser) and a tool's request answered inline (ApprovalWidget).

An AnswerBrowser grows with its text, can be collapsed when long, and loads nothing remote.

Tokens arrive one by one; re-rendering Markdown for each would make a long answer quadratic and the window sluggish,
so an answer view re-renders at most every 50 ms while it streams (``AnswerBrowser.stream_markdown``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QTextOption
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSizePolicy,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from app.gui import markdown
from app.gui.theme import is_dark

if TYPE_CHECKING:
    from app.gui.turns import ApprovalRequest

RENDER_INTERVAL_MS = 50

# What a tool with side effects will do, in the user's words (shown in the approval).
TOOL_ACTIONS = {
    "write_note": "save a note in Deskmate's notes folder",
    "open_path": "open a file or a web address with your system's default application",
    "remember": "remember a fact about you for later conversations",
    "forget": "forget facts it remembered about you",
}


class AnswerBrowser(QTextBrowser):
    """Read-only rich text that grows with its content and never loads anything remote.

    ``set_collapsible(height)`` caps a long answer at ``height`` pixels until ``set_collapsed(False)``;
    ``overflow_changed`` says whether the text is taller than the cap (the turn shows "Show more" then).
    """

    cite_clicked = Signal(int)
    overflow_changed = Signal(bool)

    def __init__(self, parent: QWidget | None = None, *, fit: bool = True) -> None:
        super().__init__(parent)
        self.setOpenLinks(False)
        self.setOpenExternalLinks(False)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self._fits = fit
        if fit:  # grow with the content (inside the scrolling conversation) instead of scrolling itself
            self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
            self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Minimum)
            self.document().documentLayout().documentSizeChanged.connect(self._fit)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.anchorClicked.connect(self._anchor)
        self.markdown_text = ""
        self.collapse_at: int | None = None
        self.collapsed = False
        self.overflows = False
        self._pending = ""
        self._render = QTimer(self)
        self._render.setSingleShot(True)
        self._render.setInterval(RENDER_INTERVAL_MS)
        self._render.timeout.connect(lambda: self.set_markdown(self._pending))

    def set_markdown(self, text: str) -> None:
        """Show ``text`` now (and drop a streamed render still waiting)."""
        self._render.stop()
        self.markdown_text = text
        dark = is_dark()
        self.document().setDefaultStyleSheet(markdown.stylesheet(dark))
        self.setHtml(markdown.render(text, dark=dark))

    def stream_markdown(self, text: str) -> None:
        """Show ``text`` within 50 ms, coalescing the calls in between: for answers that grow token by token."""
        self._pending = text
        if not self._render.isActive():
            self._render.start()

    def stop_streaming(self) -> None:
        self._render.stop()

    def loadResource(self, kind: int, url: QUrl | str) -> Any:  # noqa: N802 - Qt's name
        return None  # no images, stylesheets or anything else fetched on the answer's behalf

    def set_collapsible(self, height: int | None, *, collapsed: bool = True) -> None:
        """Cap the view at ``height`` pixels while collapsed (None: always whole)."""
        self.collapse_at = height
        self.collapsed = collapsed and height is not None
        if self._fits:
            self._fit()

    def set_collapsed(self, collapsed: bool) -> None:
        self.collapsed = collapsed and self.collapse_at is not None
        if self._fits:
            self._fit()

    @property
    def content_height(self) -> int:
        return int(self.document().size().height()) + 6

    def _fit(self) -> None:
        whole = self.content_height
        overflows = self.collapse_at is not None and whole > self.collapse_at
        self.setFixedHeight(self.collapse_at if overflows and self.collapsed and self.collapse_at else whole)
        if overflows != self.overflows:
            self.overflows = overflows
            self.overflow_changed.emit(overflows)

    def _anchor(self, url: QUrl) -> None:
        if url.scheme() == "cite" and url.path().isdigit():
            self.cite_clicked.emit(int(url.path()))
        elif url.scheme() in ("http", "https"):
            from PySide6.QtGui import QDesktopServices

            QDesktopServices.openUrl(url)  # a web link the user clicked: their browser, not ours


class ApprovalWidget(QFrame):
    """A tool's request inline in the conversation: what it will do, and Allow once / Always allow / Deny."""

    def __init__(self, request: ApprovalRequest, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.request = request
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setAccessibleName(f"Approval for {request.tool}")
        layout = QVBoxLayout(self)
        action = TOOL_ACTIONS.get(request.tool, "run a tool with side effects")
        careful = f"\nCareful: {request.reason}. Allow it only if you asked for this." if request.reason else ""
        self.text = QLabel(f"Deskmate wants to {action} ({request.tool}):{careful}")
        self.text.setTextFormat(Qt.TextFormat.PlainText)  # a QLabel guesses HTML otherwise: model text is data
        self.text.setWordWrap(True)
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.text)
        # Every argument whole, as plain text that scrolls: what is approved is exactly what runs.
        self.details = QPlainTextEdit()
        self.details.setReadOnly(True)
        self.details.setAccessibleName(f"What {request.tool} will do")
        self.details.setWordWrapMode(QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere)  # long web addresses too
        self.details.setPlainText("\n".join(f"{name}: {value}" for name, value in request.request.details()))
        self.details.setMaximumHeight(self.details.fontMetrics().lineSpacing() * 10 + 12)
        layout.addWidget(self.details)
        row = QHBoxLayout()
        self.allow = QPushButton("&Allow once")
        self.always = QPushButton(f"Al&ways allow {request.tool}")
        self.deny = QPushButton("&Deny")
        for button, name in ((self.allow, "Allow once"), (self.always, "Always allow"), (self.deny, "Deny")):
            button.setAccessibleName(name)
            row.addWidget(button)
        row.addStretch(1)
        layout.addLayout(row)
        self.allow.clicked.connect(lambda: self._answer(True, False))
        self.always.clicked.connect(lambda: self._answer(True, True))
        self.deny.clicked.connect(lambda: self._answer(False, False))

    def _answer(self, allowed: bool, always: bool) -> None:
        self.request.answer(allowed, always=always)
        for button in (self.allow, self.always, self.deny):
            button.setEnabled(False)
        verdict = "always allowed" if always else "allowed" if allowed else "denied"
        self.text.setText(self.text.text() + f"\n→ {verdict}")

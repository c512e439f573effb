"""ChatView: a conversation's turns as they stream in: rendered answers, citation chips, approvals, mode badges.

Tokens arrive one by one; re-rendering Markdown for each would make a long answer quadratic and the window sluggish,
so an answer view re-renders at most every 50 ms while it streams (``AnswerBrowser.stream_markdown``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QGuiApplication, QTextOption
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from app.gui import markdown
from app.gui.theme import is_dark

if TYPE_CHECKING:
    from agents.citations import Citation
    from agents.runner import TurnDone, Warning
    from app.gui.turns import ApprovalRequest

RENDER_INTERVAL_MS = 50

# What a tool with side effects will do, in the user's words (shown in the approval).
TOOL_ACTIONS = {
    "write_note": "save a note in Deskmate's notes folder",
    "open_path": "open a file or a web address with your system's default application",
    "remember": "remember a fact about you for later conversations",
    "forget": "forget facts it remembered about you",
}


def describe_mode(mode: str, model: str | None, reason: str | None, kind: str | None = None) -> tuple[str, str]:
    """The badge text and its tooltip for an answer's mode; ``kind`` is the model's provider kind (onnx, openai)."""
    if mode == "cache":
        return "cache", "A stored answer to the same question about the same sources; no model was called."
    if mode == "llm":
        label = {"onnx": "local model", "openai": "remote"}.get(kind or "", "model")
        where = {"onnx": " on this computer", "openai": " over the network"}.get(kind or "", "")
        return label, f"Answered by {model or 'a model'}{where}."
    return "from your files", (f"The model did not answer ({reason}); this answer quotes your files directly."
                               if reason else "Answered from your files without a model.")


class AnswerBrowser(QTextBrowser):
    """Read-only rich text that grows with its content and never loads anything remote."""

    cite_clicked = Signal(int)

    def __init__(self, parent: QWidget | None = None, *, fit: bool = True) -> None:
        super().__init__(parent)
        self.setOpenLinks(False)
        self.setOpenExternalLinks(False)
        self.setFrameShape(QFrame.Shape.NoFrame)
        if fit:  # grow with the content (inside the scrolling conversation) instead of scrolling itself
            self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
            self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Minimum)
            self.document().documentLayout().documentSizeChanged.connect(self._fit)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.anchorClicked.connect(self._anchor)
        self.markdown_text = ""
        self._pending = ""
        self._render = QTimer(self)
        self._render.setSingleShot(True)
        self._render.setInterval(RENDER_INTERVAL_MS)
        self._render.timeout.connect(lambda: self.set_markdown(self._pending))

    def set_markdown(self, text: str) -> None:
        """Show ``text`` now (and drop a streamed render still waiting)."""
        self._render.stop()
        self.markdown_text = text
        self.setHtml(markdown.render(text, dark=is_dark()))

    def stream_markdown(self, text: str) -> None:
        """Show ``text`` within 50 ms, coalescing the calls in between: for answers that grow token by token."""
        self._pending = text
        if not self._render.isActive():
            self._render.start()

    def stop_streaming(self) -> None:
        self._render.stop()

    def loadResource(self, kind: int, url: QUrl | str) -> Any:  # noqa: N802 - Qt's name
        return None  # no images, stylesheets or anything else fetched on the answer's behalf

    def _fit(self) -> None:
        self.setFixedHeight(int(self.document().size().height()) + 6)

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


class TurnWidget(QFrame):
    """One question and its answer: draft first, then the streamed model answer, then sources and mode."""

    cite_clicked = Signal(object)  # the Citation
    feedback_changed = Signal(str, object, dict)  # trace id, "up" | "down" | None, {path: "right" | "wrong"}
    why_requested = Signal(str)  # trace id

    def __init__(self, question: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("turn")
        self.citations: list[Citation] = []
        self.streamed = ""
        self.done: TurnDone | None = None
        self.rating: str | None = None
        self.verdicts: dict[str, str] = {}
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        self.question = QLabel(question)
        self.question.setTextFormat(Qt.TextFormat.PlainText)  # the question, a tool's name, a document's words: text
        self.question.setWordWrap(True)
        self.question.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.question.setStyleSheet("font-weight: bold;")
        self.question.setAccessibleName("Question")
        layout.addWidget(self.question)
        self.status = QLabel("")
        self.status.setTextFormat(Qt.TextFormat.PlainText)
        self.status.setAccessibleName("Answer status")
        layout.addWidget(self.status)
        self.answer = AnswerBrowser()
        self.answer.setAccessibleName("Answer")
        self.answer.cite_clicked.connect(self._cite_number)
        layout.addWidget(self.answer)
        self.approvals = QVBoxLayout()
        layout.addLayout(self.approvals)
        self.sources = QHBoxLayout()
        self.sources.setSpacing(4)
        layout.addLayout(self.sources)
        footer = QHBoxLayout()
        self.badge = QLabel("")
        self.badge.setAccessibleName("Answer mode")
        self.badge.setStyleSheet("border: 1px solid palette(mid); border-radius: 6px; padding: 1px 6px;")
        self.badge.hide()
        footer.addWidget(self.badge)
        self.warning = QLabel("")
        self.warning.setTextFormat(Qt.TextFormat.PlainText)
        self.warning.setWordWrap(True)
        self.warning.setAccessibleName("Warning about the sources")
        self.warning.setStyleSheet("color: #b45309;")
        self.warning.hide()
        layout.insertWidget(layout.count(), self.warning)
        footer.addStretch(1)
        # Words, not emoji: a desktop without an emoji font would show empty boxes.
        self.up = QPushButton("Good")
        self.down = QPushButton("Bad")
        self.why = QPushButton("Why?")
        for button, name, tip in ((self.up, "Good answer", "A good answer (kept in your personal evaluation)"),
                                  (self.down, "Bad answer", "A bad answer (kept in your personal evaluation)"),
                                  (self.why, "Why this answer", "How this answer was made: its stored trace")):
            button.setAccessibleName(name)
            button.setToolTip(tip)
            button.setEnabled(False)  # until the turn is done and its trace stored
            footer.addWidget(button)
        self.up.setCheckable(True)
        self.down.setCheckable(True)
        self.up.clicked.connect(lambda: self._rate("up" if self.up.isChecked() else None))
        self.down.clicked.connect(lambda: self._rate("down" if self.down.isChecked() else None))
        self.why.clicked.connect(lambda: self.why_requested.emit(self.trace_id or ""))
        self.copy = QPushButton("Copy")
        self.copy.setAccessibleName("Copy answer")
        self.copy.setToolTip("Copy the answer as Markdown, with its sources")
        self.copy.clicked.connect(self.copy_answer)
        footer.addWidget(self.copy)
        layout.addLayout(footer)
        self.status.setText("Looking in your files…")

    # -- events from the runner ---------------------------------------------------------------------------

    def show_draft(self, text: str, citations: list[Citation]) -> None:
        if not self.streamed:
            self.status.setText("From your files, while the model thinks:")
            self.answer.set_markdown(text)
            self.set_sources(citations)

    def add_tokens(self, text: str) -> None:
        if not self.streamed:
            self.status.setText("The model is answering…")
        self.streamed += text
        self.answer.stream_markdown(self.streamed)

    def add_approval(self, request: ApprovalRequest) -> ApprovalWidget:
        widget = ApprovalWidget(request)
        self.approvals.addWidget(widget)
        widget.allow.setFocus()
        return widget

    def tool_started(self, tool: str) -> None:
        self.status.setText(f"Running {tool}…")

    def finish(self, done: TurnDone, kind: str | None = None) -> None:
        self.done = done
        self.answer.set_markdown(done.answer)
        self.set_sources(done.citations)
        text, tip = describe_mode(done.mode, done.model, done.fallback_reason, kind)
        self.badge.setText(text)
        self.badge.setToolTip(tip)
        self.badge.show()
        has_trace = bool(self.trace_id)
        for button in (self.up, self.down, self.why):
            button.setEnabled(has_trace)
        if done.warnings:
            self.show_warning(done.warnings)
        set_aside = done.mode != "llm" and bool(self.streamed)
        self.status.setText("The model's answer was set aside; the answer from your files stands." if set_aside
                            else "")
        self.status.setVisible(bool(self.status.text()))

    @property
    def trace_id(self) -> str | None:
        return getattr(self.done, "trace_id", None) if self.done is not None else None

    def show_warning(self, warnings: list[Warning]) -> None:
        """Sources that looked like instructions to the model: they were treated as data, and the user should know."""
        where = "; ".join(f"{w.source}: {', '.join(w.reasons)}" for w in warnings)
        self.warning.setText(f"⚠ Some sources contain text that looks like instructions to the model; it was treated "
                             f"as data, not followed. {where}")
        self.warning.show()

    def _rate(self, rating: str | None) -> None:
        self.rating = rating
        self.up.setChecked(rating == "up")
        self.down.setChecked(rating == "down")
        if self.trace_id:
            self.feedback_changed.emit(self.trace_id, rating, dict(self.verdicts))

    def judge_source(self, citation: Citation, verdict: str | None) -> None:
        """The user says this source was right (or wrong) for the question: kept for the personal evaluation."""
        if verdict is None:
            self.verdicts.pop(citation.path, None)
        else:
            self.verdicts[citation.path] = verdict
        if self.trace_id:
            self.feedback_changed.emit(self.trace_id, self.rating, dict(self.verdicts))

    def fail(self, message: str) -> None:
        self.answer.stop_streaming()
        self.status.setText(f"Could not answer: {message}")
        self.status.setStyleSheet("color: #b91c1c;")

    def show_record(self, answer: str, mode: str | None, citations: list[Citation]) -> None:
        """A past turn loaded from the thread's history."""
        self.answer.set_markdown(answer)
        self.set_sources(citations)
        self.status.hide()
        if mode:
            text, tip = describe_mode(mode, None, None)
            self.badge.setText(text)
            self.badge.setToolTip(tip)
            self.badge.show()

    # -- sources and copying ---------------------------------------------------------------------------------

    def set_sources(self, citations: list[Citation]) -> None:
        self.citations = list(citations)
        while self.sources.count():
            item = self.sources.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.deleteLater()
        for number, citation in enumerate(self.citations, 1):
            chip = QPushButton(f"[{number}] {short_where(citation)}")
            chip.setFlat(True)
            chip.setCursor(Qt.CursorShape.PointingHandCursor)
            chip.setToolTip(f"{citation.where()}\n“{citation.quote[:300]}”")
            chip.setAccessibleName(f"Source {number}: {citation.where()}")
            chip.setStyleSheet("border: 1px solid palette(mid); border-radius: 8px; padding: 2px 8px;")
            chip.clicked.connect(lambda _=False, c=citation: self.cite_clicked.emit(c))
            chip.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
            chip.customContextMenuRequested.connect(lambda _pos, c=citation, b=chip: self._chip_menu(c, b))
            self.sources.addWidget(chip)
        self.sources.addStretch(1)

    def _chip_menu(self, citation: Citation, chip: QPushButton) -> None:
        from PySide6.QtWidgets import QMenu

        menu = QMenu(chip)
        menu.addAction("&Open", lambda: self.cite_clicked.emit(citation))
        if self.trace_id:
            menu.addSeparator()
            menu.addAction("This source was &right", lambda: self.judge_source(citation, "right"))
            menu.addAction("This source was &wrong", lambda: self.judge_source(citation, "wrong"))
            menu.addAction("&Clear my verdict", lambda: self.judge_source(citation, None))
        menu.popup(chip.mapToGlobal(chip.rect().bottomLeft()))

    def copy_answer(self) -> None:
        text = self.answer.markdown_text
        if self.citations:
            text += "\n\n" + "\n".join(f"[{n}] {c.where()}" for n, c in enumerate(self.citations, 1))
        QGuiApplication.clipboard().setText(text)

    def _cite_number(self, number: int) -> None:
        if 1 <= number <= len(self.citations):
            self.cite_clicked.emit(self.citations[number - 1])


def short_where(citation: Citation) -> str:
    """``backup.md:4`` or ``report.pdf p.3``: a source named briefly (the full path is in the tooltip)."""
    name = citation.path.replace("\\", "/").rsplit("/", 1)[-1]
    if citation.page is not None:
        return f"{name} p.{citation.page}"
    if citation.line_start is not None:
        return f"{name}:{citation.line_start}"
    return name


class ChatView(QScrollArea):
    """The turns of one thread, newest at the bottom, following the stream while the user has not scrolled up."""

    cite_clicked = Signal(object)
    feedback_changed = Signal(str, object, dict)
    why_requested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWidgetResizable(True)
        self.setAccessibleName("Conversation")
        self._inner = QWidget()
        self._layout = QVBoxLayout(self._inner)
        self.empty = QLabel("Ask anything about the files in your index: answers quote them and name their sources."
                            "\n\nEnter sends · Esc stops · Ctrl+I manages the indexed folders · F1 lists shortcuts")
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setWordWrap(True)
        self.empty.setAccessibleName("Getting started")
        self._layout.addWidget(self.empty)
        self._layout.addStretch(1)
        self.setWidget(self._inner)
        self.turns: list[TurnWidget] = []
        self._follow = True
        bar = self.verticalScrollBar()
        bar.rangeChanged.connect(lambda _lo, hi: bar.setValue(hi) if self._follow else None)
        bar.valueChanged.connect(lambda value: setattr(self, "_follow", value >= bar.maximum() - 4))

    def add_turn(self, question: str) -> TurnWidget:
        turn = TurnWidget(question)
        turn.cite_clicked.connect(self.cite_clicked)
        turn.feedback_changed.connect(self.feedback_changed)
        turn.why_requested.connect(self.why_requested)
        self.empty.hide()
        self._layout.insertWidget(self._layout.count() - 1, turn)
        self.turns.append(turn)
        self._follow = True
        return turn

    @property
    def current(self) -> TurnWidget | None:
        return self.turns[-1] if self.turns else None

    def clear(self) -> None:
        for turn in self.turns:
            turn.deleteLater()
        self.turns = []
        self.empty.show()


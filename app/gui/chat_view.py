"""ChatView: a conversation's turns as they stream in, each a question set apart and its answer.

The question has Edit (an inline editor; re-asking forks the thread there); the answer is rendered Markdown
(collapsible when long) with its sources, its route and mode badges, Regenerate on the last answer, and a progress
bar with Stop for slow whole-document work.

What the badges say is decided in app/gui/answer_labels.py; the answer view is app/gui/answer_view.py and the
question's box (and the question editor) app/gui/question_box.py.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from app.gui.answer_labels import describe_mode, fallback_kind, plain_tip, route_text
from app.gui.answer_view import TOOL_ACTIONS, AnswerBrowser, ApprovalWidget
from app.gui.question_box import QuestionBox, QuestionEdit

if TYPE_CHECKING:
    from agents.citations import Citation
    from agents.runner import TurnDone, Warning
    from app.gui.turns import ApprovalRequest

# Re-exported: quick ask and the tests import these from here.
__all__ = ["TOOL_ACTIONS", "AnswerBrowser", "ApprovalWidget", "ChatView", "QuestionEdit", "TurnWidget",
           "describe_mode", "short_where"]

COLLAPSE_LINES = 24  # an answer taller than this many lines shows "Show more" when it comes from the history
_BADGE = "border: 1px solid {colour}; border-radius: 6px; padding: 1px 6px;"
# The route badge's border: the text keeps the palette's colour, readable in both themes.
_ROUTE_COLOURS = {"From": "#15803d", "On": "#15803d", "Not": "#7c3aed", "Exact": "#2563eb", "Cached": "palette(mid)",
                  "Extract": "#d97706"}


class TurnWidget(QFrame):
    """One question and its answer: draft first, then the streamed model answer, then sources and mode."""

    cite_clicked = Signal(object)  # the Citation
    feedback_changed = Signal(str, object, dict)  # trace id, "up" | "down" | None, {path: "right" | "wrong"}
    why_requested = Signal(str)  # trace id
    edit_submitted = Signal(str)  # the edited question
    regenerate_requested = Signal()
    stop_requested = Signal()

    def __init__(self, question: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("turn")
        self.citations: list[Citation] = []
        self.streamed = ""
        self.done: TurnDone | None = None
        self.answered = False  # finished or loaded: it can be edited (and regenerated when last)
        self.rating: str | None = None
        self.verdicts: dict[str, str] = {}
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        self.question_box = QuestionBox(question)
        self.question_box.resubmitted.connect(self.edit_submitted)
        self.question = self.question_box.label
        layout.addWidget(self.question_box)
        self.status = QLabel("")
        self.status.setTextFormat(Qt.TextFormat.PlainText)
        self.status.setAccessibleName("Answer status")
        layout.addWidget(self.status)
        self.answer = AnswerBrowser()
        self.answer.setAccessibleName("Answer")
        self.answer.cite_clicked.connect(self._cite_number)
        self.answer.overflow_changed.connect(self._overflow)
        layout.addWidget(self.answer)
        self.more = QPushButton("Show more")
        self.more.setFlat(True)
        self.more.setAccessibleName("Show the whole answer")
        self.more.clicked.connect(lambda: self.set_collapsed(not self.answer.collapsed))
        self.more.hide()
        layout.addWidget(self.more, 0, Qt.AlignmentFlag.AlignLeft)
        layout.addWidget(self._progress_row())
        self.approvals = QVBoxLayout()
        layout.addLayout(self.approvals)
        self.sources = QHBoxLayout()
        self.sources.setSpacing(4)
        layout.addLayout(self.sources)
        self.warning = QLabel("")
        self.warning.setTextFormat(Qt.TextFormat.PlainText)
        self.warning.setWordWrap(True)
        self.warning.setAccessibleName("Warning about the sources")
        self.warning.setStyleSheet("color: #b45309;")
        self.warning.hide()
        layout.addWidget(self.warning)
        layout.addLayout(self._footer())
        self.status.setText("Looking in your files…")

    def _progress_row(self) -> QWidget:
        self.progress_box = QWidget()
        row = QHBoxLayout(self.progress_box)
        row.setContentsMargins(0, 0, 0, 0)
        self.progress = QProgressBar()
        self.progress.setAccessibleName("Progress of the work on the whole document")
        self.progress_label = QLabel("")
        self.progress_label.setTextFormat(Qt.TextFormat.PlainText)
        self.progress_stop = QPushButton("Stop")
        self.progress_stop.setAccessibleName("Stop this work")
        self.progress_stop.setToolTip("Stop (Esc); what is done so far stays")
        self.progress_stop.clicked.connect(self.stop_requested)
        row.addWidget(self.progress_label)
        row.addWidget(self.progress, 1)
        row.addWidget(self.progress_stop)
        self.progress_box.hide()
        return self.progress_box

    def _footer(self) -> QHBoxLayout:
        footer = QHBoxLayout()
        self.route_badge = QLabel("")
        self.route_badge.setTextFormat(Qt.TextFormat.PlainText)
        self.route_badge.setAccessibleName("Where the answer comes from")
        self.route_badge.hide()
        footer.addWidget(self.route_badge)
        self.badge = QLabel("")
        self.badge.setTextFormat(Qt.TextFormat.PlainText)
        self.badge.setAccessibleName("Answer mode")
        self.badge.setStyleSheet(_BADGE.format(colour="palette(mid)"))
        self.badge.hide()
        footer.addWidget(self.badge)
        footer.addStretch(1)
        self.regenerate = QPushButton("Regenerate")
        self.regenerate.setAccessibleName("Regenerate answer")
        self.regenerate.setToolTip("Ask this question again from the same point of the conversation (Ctrl+R)")
        self.regenerate.clicked.connect(self.regenerate_requested)
        self.regenerate.hide()  # the chat view shows it on the last answer
        footer.addWidget(self.regenerate)
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
        return footer

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

    def show_progress(self, done: int, total: int, what: str) -> None:
        """Slow work under way: ``done`` of ``total`` steps (a busy bar when the total is unknown)."""
        total = max(total, 0)
        self.progress.setRange(0, total)
        self.progress.setValue(min(max(done, 0), total))
        self.progress_label.setText(f"{what} ({done} of {total})" if total else what)
        self.progress_box.show()

    def finish(self, done: TurnDone, kind: str | None = None) -> None:
        from app.gui.answer_labels import describe_route

        self.done = done
        self.progress_box.hide()
        self.answer.set_markdown(done.answer)
        self.set_sources(done.citations)
        self._set_badges(done.mode, done.model, done.fallback_reason, kind, done.route)
        text, tip = describe_route(done, kind)
        self.route_badge.setText(text)
        self.route_badge.setToolTip(plain_tip(tip))
        has_trace = bool(self.trace_id)
        for button in (self.up, self.down, self.why):
            button.setEnabled(has_trace)
        if done.warnings:
            self.show_warning(done.warnings)
        status = ""
        if done.mode == "fallback" and self.streamed:
            why = fallback_kind(done.fallback_reason, done.model)
            status = {"set_aside": "The model's answer was set aside; the answer from your files stands.",
                      "stopped": "You stopped the model; the answer from your files stands.",
                      "unavailable": "The model stopped answering; the answer from your files stands."}.get(why, "")
        self.status.setText(status)
        self.status.setVisible(bool(status))
        self.answered = True
        self.question_box.edit_button.setEnabled(True)
        self.set_collapsible(collapsed=False)  # just streamed: whole, with "Show less" when it is long

    def _set_badges(self, mode: str, model: str | None, reason: str | None, kind: str | None,
                    route: str = "files") -> None:
        route_label = route_text(mode, reason, model, route)
        colour = _ROUTE_COLOURS.get(route_label.split(" ", 1)[0].rstrip("—"), "palette(mid)")
        self.route_badge.setText(route_label)
        self.route_badge.setToolTip(plain_tip(describe_mode(mode, model, reason, kind)[1]))
        self.route_badge.setStyleSheet(_BADGE.format(colour=colour))
        self.route_badge.show()
        text, tip = describe_mode(mode, model, reason, kind)
        if mode == "general":  # the route badge says "not from your files"; this one says who answered
            text = describe_mode("llm", model, None, kind)[0]
        self.badge.setText(text)
        self.badge.setToolTip(plain_tip(tip))
        # Who answered matters when a model did; for an extract, a computation or the cache the route says it all.
        self.badge.setVisible(mode in ("llm", "general"))

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
        self.progress_box.hide()
        self.status.setText(f"Could not answer: {message}")
        self.status.setStyleSheet("color: #b91c1c;")
        self.status.show()

    def show_record(self, answer: str, mode: str | None, citations: list[Citation]) -> None:
        """A past turn loaded from the thread's history."""
        self.answer.set_markdown(answer)
        self.set_sources(citations)
        self.status.hide()
        self.answered = True
        self.question_box.edit_button.setEnabled(True)
        if mode:
            self._set_badges(mode, None, None, None)
        self.set_collapsible(collapsed=True)

    # -- long answers -----------------------------------------------------------------------------------------

    def set_collapsible(self, *, collapsed: bool) -> None:
        self.answer.set_collapsible(self.answer.fontMetrics().lineSpacing() * COLLAPSE_LINES, collapsed=collapsed)
        self._overflow(self.answer.overflows)

    def set_collapsed(self, collapsed: bool) -> None:
        self.answer.set_collapsed(collapsed)
        self._overflow(self.answer.overflows)

    def _overflow(self, overflows: bool) -> None:
        self.more.setVisible(overflows)
        self.more.setText("Show more" if self.answer.collapsed else "Show less")
        self.more.setAccessibleName("Show the whole answer" if self.answer.collapsed else "Show less of the answer")

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
            chip.setToolTip(plain_tip(f"{citation.where()}\n“{citation.quote[:300]}”"))
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
    regenerate_requested = Signal()
    edit_requested = Signal(int, str)  # turn index (0-based), the edited question
    stop_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWidgetResizable(True)
        self.setAccessibleName("Conversation")
        self._inner = QWidget()
        self._layout = QVBoxLayout(self._inner)
        self.empty = QLabel("Ask anything about the files in your index: answers quote them and name their sources."
                            "\n\nEnter sends · @ names a file · Esc stops · Ctrl+R regenerates · "
                            "Ctrl+I manages the indexed folders · F1 lists shortcuts")
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setWordWrap(True)
        self.empty.setAccessibleName("Getting started")
        self._layout.addWidget(self.empty)
        self._layout.addStretch(1)
        self.setWidget(self._inner)
        self.turns: list[TurnWidget] = []
        self.busy = False
        self._follow = True
        bar = self.verticalScrollBar()
        bar.rangeChanged.connect(lambda _lo, hi: bar.setValue(hi) if self._follow else None)
        bar.valueChanged.connect(lambda value: setattr(self, "_follow", value >= bar.maximum() - 4))

    def add_turn(self, question: str) -> TurnWidget:
        turn = TurnWidget(question)
        turn.cite_clicked.connect(self.cite_clicked)
        turn.feedback_changed.connect(self.feedback_changed)
        turn.why_requested.connect(self.why_requested)
        turn.regenerate_requested.connect(self.regenerate_requested)
        turn.stop_requested.connect(self.stop_requested)
        turn.edit_submitted.connect(lambda text, t=turn: self._edited(t, text))
        self.empty.hide()
        self._layout.insertWidget(self._layout.count() - 1, turn)
        self.turns.append(turn)
        self._follow = True
        self._update_controls()
        return turn

    def _edited(self, turn: TurnWidget, text: str) -> None:
        if turn in self.turns and not self.busy:
            self.edit_requested.emit(self.turns.index(turn), text)

    @property
    def current(self) -> TurnWidget | None:
        return self.turns[-1] if self.turns else None

    def truncate(self, count: int) -> None:
        """Keep the first ``count`` turns (a fork replaces the ones after)."""
        for turn in self.turns[count:]:
            turn.deleteLater()
        self.turns = self.turns[:count]
        self.empty.setVisible(not self.turns)
        self._update_controls()

    def clear(self) -> None:
        self.truncate(0)

    def follow(self, turns: list[tuple[str, str]]) -> bool:
        """Show the thread's branch, given as (question, answer) per turn; True when something changed.

        The turns shown that match the branch stay as they are (with their sources and badges); the rest are replaced.
        """
        same = 0
        while same < min(len(turns), len(self.turns)) and self.turns[same].question.text() == turns[same][0]:
            same += 1
        if same == len(turns) == len(self.turns):
            return False
        self.truncate(same)
        for question, answer in turns[same:]:
            self.add_turn(question).show_record(answer, None, [])
        return True

    def set_busy(self, busy: bool) -> None:
        """While a turn runs, no turn can be edited or regenerated."""
        self.busy = busy
        self._update_controls()

    def _update_controls(self) -> None:
        last = self.current
        for turn in self.turns:
            turn.question_box.edit_button.setVisible(not self.busy)
            turn.regenerate.setVisible(turn is last and not self.busy and turn.answered)

"""QuickAskDialog: a frameless popup for one question from anywhere (tray, global shortcut, ``deskmate --quick-ask``).

It is built once at start-up and only shown and hidden afterwards, so it appears within a frame of being asked for.
It answers with the same agent as the main window, in its own conversation thread, which "Continue in main window"
hands over. Opened on a selection, it offers the action presets (app/gui/action_palette.py): a button, Ctrl+1..6 or
``/word`` in the input runs one on the selected text; the result can be copied or pasted back over the selection.
"""

from __future__ import annotations

import logging
import subprocess
from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QPoint, QRect, Qt, QTimer, Signal
from PySide6.QtGui import QClipboard, QCursor, QGuiApplication, QKeyEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import QCompleter, QFrame, QHBoxLayout, QLabel, QLineEdit, QPushButton, QVBoxLayout, QWidget

from app.gui.action_palette import (
    COMMAND_ROLE,
    SHORTCUT_ACTIONS,
    ActionPaletteWidget,
    NeedsArgument,
    Plan,
    command_model,
    command_text,
    paste_command,
    plan_action,
    plan_input,
)
from app.gui.answer_labels import describe_mode, describe_route
from app.gui.answer_view import AnswerBrowser
from app.gui.backend import Backend
from app.gui.chat_view import short_where
from app.gui.tasks import Tasks
from app.gui.turns import ApprovalRequest, TurnController

if TYPE_CHECKING:
    from agents.citations import Citation
    from agents.presets import Preset, Presets
    from agents.runner import TurnDone

log = logging.getLogger(__name__)

WIDTH, HEIGHT = 600, 460
PASTE_DELAY_MS = 150  # after hiding: the window that had the selection takes the focus back before Ctrl+V


def mode_badge(done: TurnDone, kind: str | None) -> tuple[str, str]:
    """The badge and its tooltip: "Not from your files" for the model alone, "Exact" for a computed answer.

    The other modes keep their short mode words ("model", "cache", "from your files"); the tooltip says who answered
    and why the turn went that way, in the main window's words (app/gui/answer_labels.py).
    """
    text, tip = describe_route(done, kind)
    if done.mode not in ("general", "exact") and done.route not in ("general", "action"):
        text = describe_mode(done.mode, done.model, done.fallback_reason, kind)[0]
    return text, tip


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
        self.presets: Presets | None = None
        self.paster: Callable[[list[str]], object] = subprocess.Popen  # tests hand in a recorder
        layout = QVBoxLayout(self)
        self.action_palette = ActionPaletteWidget()
        self.action_palette.chosen.connect(self.run_action)
        self.action_palette.needs_argument.connect(self._type_argument)
        self.action_palette.dropped.connect(self._selection_dropped)
        layout.addWidget(self.action_palette)
        self.input = QLineEdit()
        self.input.setPlaceholderText("Ask Deskmate…  (Enter to ask, / for actions, Esc to close)")
        self.input.setAccessibleName("Quick question")
        self.input.returnPressed.connect(self.ask)
        self.completer = QCompleter(self)
        self.completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.completer.setCompletionRole(COMMAND_ROLE)
        self.completer.setCompletionMode(QCompleter.CompletionMode.PopupCompletion)
        self.input.setCompleter(self.completer)
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
        self.badge.setTextFormat(Qt.TextFormat.PlainText)
        self.badge.setAccessibleName("Answer mode")
        row.addWidget(self.badge)
        row.addStretch(1)
        self.copy_button = QPushButton("C&opy")
        self.copy_button.setAccessibleName("Copy the answer")
        self.copy_button.setEnabled(False)
        self.copy_button.clicked.connect(self.copy_answer)
        row.addWidget(self.copy_button)
        self.replace_button = QPushButton("&Replace selection")
        self.replace_button.setAccessibleName("Replace the selection with the answer")
        self.replace_button.setEnabled(False)
        self.replace_button.clicked.connect(self.replace_selection)
        row.addWidget(self.replace_button)
        self.stop_button = QPushButton("S&top")
        self.stop_button.setAccessibleName("Stop answering")
        self.stop_button.setEnabled(False)
        self.stop_button.clicked.connect(self.turns.stop)
        row.addWidget(self.stop_button)
        self.continue_button = QPushButton("&Continue in main window")
        self.continue_button.setAccessibleName("Continue in main window")
        self.continue_button.clicked.connect(self._continue)
        row.addWidget(self.continue_button)
        layout.addLayout(row)
        QShortcut(QKeySequence("Esc"), self, self.close_popup)
        self.action_shortcuts = [QShortcut(QKeySequence(f"Ctrl+{n}"), self,
                                           lambda n=n: self.trigger_action(n - 1))
                                 for n in range(1, SHORTCUT_ACTIONS + 1)]
        self._streamed = ""
        self._answer = ""
        self._running: Preset | None = None  # the action of the turn under way, None for a question
        self.turns.started.connect(self._started)
        self.turns.received.connect(self._event)
        self.turns.approval.connect(self._needs_approval)
        self.turns.failed.connect(lambda message: self.status.setText(f"Could not answer: {message}"))
        self.turns.finished.connect(lambda: self.stop_button.setEnabled(False))

    @property
    def selection(self) -> str:
        return self.action_palette.selection

    # -- showing ---------------------------------------------------------------------------------------------

    def popup(self, text: str | None = None, near_cursor: bool = True, *, selection: str | None = None) -> None:
        """Show, focused, near the cursor (or centred); prefilled with ``text`` or what the settings ask for.

        ``selection`` (or, when the settings say so, the selected text) is what the actions work on.
        """
        self.reload_presets()
        if selection is None:
            selection = self._selected_text() if text is None else ""
        self.action_palette.set_selection(selection)
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
        if self.backend.settings.desktop.quick_ask_prefill == "clipboard":
            return QGuiApplication.clipboard().text().strip()[:2000]
        return ""

    def _selected_text(self) -> str:
        """The selection (X11's primary selection; the clipboard where there is none), when the settings ask for it."""
        if self.backend.settings.desktop.quick_ask_prefill != "selection":
            return ""
        clipboard = QGuiApplication.clipboard()
        if clipboard.supportsSelection():
            return clipboard.text(QClipboard.Mode.Selection)
        return clipboard.text()

    def reload_presets(self) -> None:
        """Read the presets again (a few small files): edits made in Settings show the next time the popup opens."""
        from agents.presets import load_presets

        try:
            self.presets = load_presets(self.backend.paths.config_dir / "prompts")
        except Exception as exc:  # a broken prompts folder must not keep quick ask from opening
            log.warning("could not load the prompt presets: %s", exc)
            self.presets = None
        for problem in getattr(self.presets, "problems", []):
            log.warning("prompt presets: %s", problem)
        found = list(self.presets) if self.presets is not None else []
        self.action_palette.set_presets(found)
        self.completer.setModel(command_model(found))

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

    def ask(self) -> bool:
        """Enter: ``/word [arg] [text]`` runs that action; anything else is a question (about the selection, if any)."""
        return self._run(plan_input(self.input.text(), self.selection, self.presets))

    def run_action(self, preset: Preset, arg: object = None) -> bool:
        """Run ``preset`` on the selection with ``arg`` (None: its default)."""
        return self._run(plan_action(preset, str(arg) if arg else None, self.selection))

    def trigger_action(self, index: int) -> bool:
        """Ctrl+<index+1>: the palette's action on the selection, or its command in the input when there is none."""
        if self.selection:
            return self.action_palette.trigger(index)
        if 0 <= index < len(self.action_palette.presets):
            self._type_argument(self.action_palette.presets[index])
            return True
        return False

    def _run(self, plan: Plan) -> bool:
        from agents.runner import TurnOptions

        if isinstance(plan, str):
            self.status.setText(plan)
            return False
        if isinstance(plan, NeedsArgument):
            self._type_argument(plan.preset)
            return False
        if self.turns.busy:
            return False
        preset = plan.preset
        options = TurnOptions(action=preset.id if preset else None, action_arg=plan.arg, selection=plan.selection)
        self._running = preset
        if not self.turns.ask(plan.question, options=options):
            self._running = None
            return False
        return True

    def _type_argument(self, preset: Preset) -> None:
        self.input.setText(command_text(preset) + " ")
        self.input.setFocus()
        what = f"the {preset.arg}" if preset.arg else "what it works on"
        self.status.setText(f"Type {what} after {command_text(preset)} and press Enter.")

    def _selection_dropped(self) -> None:
        self.replace_button.setEnabled(False)
        self.input.setFocus()

    def _started(self, question: str) -> None:
        self._streamed = ""
        self._answer = ""
        self.citations = []
        self.sources.setText("")
        self.badge.setText("")
        self.badge.setToolTip("")
        self.answer.set_markdown("")
        self.copy_button.setEnabled(False)
        self.replace_button.setEnabled(False)
        self.status.setText(f"{self._running.title}…" if self._running is not None else "Looking in your files…")
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
            self.copy_button.setEnabled(True)
        elif isinstance(event, TurnFailed):
            self.status.setText(f"Could not answer: {event.error}")
        elif isinstance(event, TurnDone):
            self._answer = event.answer
            self.answer.set_markdown(event.answer)
            self._set_sources(event.citations)
            text, tip = mode_badge(event, self.backend.model_kind(event.model))
            self.badge.setText(text)
            self.badge.setToolTip(tip)
            self.status.setText("")
            self.copy_button.setEnabled(bool(event.answer))
            self.replace_button.setEnabled(bool(event.answer and self.selection))

    # -- the result -------------------------------------------------------------------------------------------

    def result_text(self) -> str:
        """The answer as text to paste: the finished answer, or what has streamed so far."""
        return self._answer or self._streamed

    def copy_answer(self) -> bool:
        text = self.result_text()
        if not text:
            return False
        QGuiApplication.clipboard().setText(text)
        self.status.setText("Copied.")
        return True

    def replace_selection(self) -> bool:
        """Put the result on the clipboard and, where the platform and the settings allow, paste it over the selection.

        True when it was pasted back; otherwise the status says how to paste it.
        """
        if not self.copy_answer():
            return False
        allowed = bool(getattr(self.backend.settings.desktop, "paste_back", False))
        command = paste_command(QGuiApplication.platformName(), allowed)
        if command is None:
            self.status.setText("Copied — paste it with Ctrl+V")
            return False
        self.hide()
        QTimer.singleShot(PASTE_DELAY_MS, lambda: self._paste(command))
        return True

    def _paste(self, command: list[str]) -> None:
        try:
            self.paster(command)
        except OSError as exc:
            log.warning("could not paste the answer back with %s: %s", command[0], exc)

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

"""MainWindow: conversations on the left, the streaming chat on the right; menus for the index and settings.

The window shows before anything heavy loads: the agent session (LangGraph, embedder, index) opens on the agent lane
right after, and a question typed meanwhile simply waits its turn on that lane.

Above the chat: the conversation's header (title, model picker) and the banner; below it, the scope chips and the
question box (``@`` mentions a file). Picking a model makes it the default (saved, as Settings › Models does) and
reopens the session between turns, so the next turn uses it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtGui import QAction, QCloseEvent, QDesktopServices, QKeySequence
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMessageBox,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from app.gui.answer_labels import banner_text, describe_mode
from app.gui.backend import Backend
from app.gui.chat_view import ChatView, QuestionEdit, TurnWidget
from app.gui.conversation_header import Banner, ConversationHeaderWidget
from app.gui.scope_bar import MentionCompleter, ScopeBarWidget
from app.gui.tasks import Tasks
from app.gui.thread_list import ThreadListWidget
from app.gui.turns import ApprovalRequest, TurnController

if TYPE_CHECKING:
    from agents.citations import Citation
    from tools.index.status import IndexStatus

log = logging.getLogger(__name__)


class MainWindow(QMainWindow):
    session_ready = Signal()
    quit_requested = Signal()

    def __init__(self, backend: Backend, tasks: Tasks, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.backend = backend
        self.tasks = tasks
        self.turns = TurnController(backend, tasks, self)
        self.open_external: Callable[[QUrl], object] = QDesktopServices.openUrl  # tests replace it
        self.allow_close = False  # True when quitting: closing then really closes
        self._index_dialog: Any = None
        self._settings_dialog: Any = None
        self.first_run: Any = None
        self.setWindowTitle("Deskmate")
        self.resize(1100, 720)
        self._build()
        self._menus()
        tasks.failed.connect(self.banner.show_message)
        self.turns.started.connect(self._turn_started)
        self.turns.received.connect(self._turn_event)
        self.turns.approval.connect(self._approval)
        self.turns.failed.connect(self._turn_failed)
        self.turns.finished.connect(self._turn_finished)
        self.turns.forked.connect(self._forked)
        self.turns.scope_changed.connect(self.scope_bar.set_scope)
        self._forking = False  # the running turn replaces earlier ones: check the view against the thread after

    # -- layout ---------------------------------------------------------------------------------------------

    def _build(self) -> None:
        splitter = QSplitter()
        self.threads = ThreadListWidget(self.backend, self.tasks)
        self.threads.thread_selected.connect(self.open_thread)
        self.threads.new_requested.connect(self.new_thread)
        self.threads.thread_deleted.connect(lambda t: self.new_thread() if t == self.turns.thread_id else None)
        self.threads.refreshed.connect(self._show_notices)  # a thread set aside while the list was read
        splitter.addWidget(self.threads)
        right = QWidget()
        column = QVBoxLayout(right)
        self.header = ConversationHeaderWidget()
        self.header.model_chosen.connect(self.choose_model)
        column.addWidget(self.header)
        self.banner = Banner()
        column.addWidget(self.banner)
        self.first_run_slot = QVBoxLayout()
        column.addLayout(self.first_run_slot)
        self.chat = ChatView()
        self.chat.cite_clicked.connect(self.open_citation)
        self.chat.feedback_changed.connect(self.save_feedback)
        self.chat.why_requested.connect(self.show_trace)
        self.chat.regenerate_requested.connect(self.regenerate)
        self.chat.edit_requested.connect(self.edit_question)
        self.chat.stop_requested.connect(self.turns.stop)
        column.addWidget(self.chat, 1)
        self.scope_bar = ScopeBarWidget()
        self.scope_bar.scope_changed.connect(lambda scope: setattr(self.turns, "scope", scope))
        self.scope_bar.refused.connect(self.banner.show_message)
        column.addWidget(self.scope_bar)
        row = QHBoxLayout()
        self.input = QuestionEdit()
        self.input.setPlaceholderText("Ask about your files…  (Enter to send, Shift+Enter for a new line, "
                                      "@ to name a file)")
        self.input.setAccessibleName("Question")
        self.input.setFixedHeight(72)
        self.input.submitted.connect(self.send)
        self.mentions = MentionCompleter(self.input)
        self.mentions.chosen.connect(self.scope_bar.add_file)
        self.mentions.wanted.connect(self.refresh_catalogue)
        row.addWidget(self.input, 1)
        buttons = QVBoxLayout()
        self.send_button = QPushButton("&Send")
        self.send_button.setAccessibleName("Send question")
        self.send_button.clicked.connect(self.send)
        self.stop_button = QPushButton("S&top")
        self.stop_button.setAccessibleName("Stop answering")
        self.stop_button.setToolTip("Stop the answer (Esc); the answer from your files stays")
        self.stop_button.setEnabled(False)
        self.stop_button.clicked.connect(self.turns.stop)
        buttons.addWidget(self.send_button)
        buttons.addWidget(self.stop_button)
        row.addLayout(buttons)
        column.addLayout(row)
        splitter.addWidget(right)
        splitter.setStretchFactor(1, 3)
        splitter.setSizes([260, 840])
        self.setCentralWidget(splitter)
        self.index_label = QLabel("")
        self.index_label.setAccessibleName("Index summary")
        self.statusBar().addPermanentWidget(self.index_label)
        self.mode_label = QLabel("")
        self.mode_label.setAccessibleName("Mode of the last answer")
        self.statusBar().addPermanentWidget(self.mode_label)
        self.statusBar().showMessage("Opening your index and models…")
        self.setTabOrder(self.input, self.send_button)
        self.setTabOrder(self.send_button, self.stop_button)
        self.setTabOrder(self.stop_button, self.threads.search)

    def _menus(self) -> None:
        def action(menu: Any, text: str, slot: Callable[[], Any],
                   shortcut: QKeySequence | QKeySequence.StandardKey | str | None = None) -> QAction:
            act = QAction(text, self)
            if shortcut is not None:
                act.setShortcut(QKeySequence(shortcut))
            act.triggered.connect(slot)
            menu.addAction(act)
            return act

        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        action(file_menu, "&New conversation", self.new_thread, QKeySequence.StandardKey.New)
        action(file_menu, "&Export conversation…", self.threads.export_selected, "Ctrl+E")
        file_menu.addSeparator()
        action(file_menu, "&Close window", self.close, "Ctrl+W")
        action(file_menu, "&Quit Deskmate", self.quit_requested.emit, "Ctrl+Q")
        go = bar.addMenu("&Go")
        action(go, "&Ask (focus the question)", lambda: self.input.setFocus(), "Ctrl+L")
        action(go, "&Search conversations", lambda: self.threads.search.setFocus(), QKeySequence.StandardKey.Find)
        self.stop_action = action(go, "S&top answering", self.turns.stop, "Esc")
        talk = bar.addMenu("&Conversation")
        self.regenerate_action = action(talk, "&Regenerate the last answer", self.regenerate, "Ctrl+R")
        action(talk, "Edit the &last question", self.edit_last, "Ctrl+Shift+E")
        action(talk, "Add to the &scope…", lambda: self.scope_bar.add_button.showMenu(), "Ctrl+Shift+S")
        action(talk, "Choose the &model…", self.header.models.showPopup, "Ctrl+M")
        tools = bar.addMenu("&Tools")
        action(tools, "&Index manager…", self.show_index_manager, "Ctrl+I")
        action(tools, "Usage &dashboard…", self.show_dashboard, "Ctrl+D")
        action(tools, "&Settings…", lambda: self.show_settings("models"), QKeySequence.StandardKey.Preferences)
        if QKeySequence(QKeySequence.StandardKey.Preferences).isEmpty():
            action(tools, "Settings (shortcut)", lambda: self.show_settings("models"), "Ctrl+,").setVisible(False)
        help_menu = bar.addMenu("&Help")
        action(help_menu, "&Keyboard shortcuts", self._show_shortcuts, "F1")

    # -- start-up ---------------------------------------------------------------------------------------------

    def open_session(self) -> None:
        """Open the agent session off the GUI thread (call once the window shows)."""
        self.tasks.run(self.backend.session, on_done=lambda _: self._session_opened(),
                       on_error=lambda exc: self._session_failed(exc), lane="agent")
        self._check_model()

    def _session_opened(self) -> None:
        self.statusBar().showMessage("Ready", 3000)
        self._show_notices()
        self.threads.refresh()
        self.refresh_index_summary()
        self.refresh_models()
        self.session_ready.emit()

    def _show_notices(self) -> None:
        """What the session set aside (a damaged thread store, a refused thread), in the status bar and the log."""
        notices = self.backend.session().notices if self.backend.ready else []
        if notices:
            self.statusBar().showMessage("; ".join(notices), 15000)
            notices.clear()

    def refresh_index_summary(self) -> None:
        """The status bar's "Index: N files · M chunks" (and failures), read on the index lane."""

        def show(status: IndexStatus) -> None:
            roots = len(status.roots)
            text = f"Index: {status.files} files · {status.chunks} chunks"
            if status.failed:
                text += f" · {status.failed} failed"
            if not roots:
                text = "Index: no folders yet (Ctrl+I to add one)"
            self.index_label.setText(text)
            self.index_label.setToolTip(f"{roots} folder(s); embedder {status.embedder['model']}")

        self.tasks.run(lambda: self.backend.session().index.status_report(), on_done=show, lane="index")
        self.refresh_catalogue()

    def refresh_catalogue(self) -> None:
        """The index's folders and files, for the scope menu and the ``@`` completer (read on the index lane)."""
        from app.gui.scope_bar import read_catalogue

        def show(found: tuple[list[str], list[str]]) -> None:
            self.scope_bar.set_catalogue(*found)
            self.mentions.set_paths(found[1])

        self.tasks.run(lambda: read_catalogue(self.backend.session().index), on_done=show, lane="index")

    def _session_failed(self, exc: BaseException) -> None:
        from app.gui.tasks import describe

        self.statusBar().showMessage("Could not open the index")
        self.banner.show_message(f"Deskmate could not start its agent: {describe(exc)}")

    def _check_model(self) -> None:
        from app.gui.first_run import FirstRunWidget

        if self.first_run is None:
            self.first_run = FirstRunWidget(self.backend, self.tasks)
            self.first_run.open_settings.connect(self.show_settings)
            self.first_run.model_ready.connect(lambda: self.statusBar().showMessage("The model is ready", 5000))
            self.first_run.model_chosen.connect(self.choose_model)  # a downloaded model or a found server's
            self.first_run.hide()
            self.first_run_slot.addWidget(self.first_run)
        self.first_run.refresh()

    # -- conversation ------------------------------------------------------------------------------------------

    def send(self) -> None:
        text = self.input.toPlainText().strip()
        if text and self.turns.ask(text):
            self.input.clear()

    def ask(self, question: str) -> bool:
        """Ask ``question`` in the current conversation (as if typed and sent)."""
        return self.turns.ask(question)

    def new_thread(self) -> None:
        if self.turns.busy:
            self.turns.stop()
        self.turns.new_thread()
        self.scope_bar.set_scope(None)
        self.chat.clear()
        self.header.set_title("")
        self.threads.list.setCurrentRow(-1)
        self.input.setFocus()

    def open_thread(self, thread_id: str) -> None:
        """Show a past conversation and continue it (its own scope applies until the user changes it)."""
        if self.turns.busy:
            return

        def read() -> tuple[list[Any], Any]:
            session = self.backend.session()
            return session.threads.messages(thread_id), session.runner.scope(thread_id)

        def loaded(found: tuple[list[Any], Any]) -> None:
            from tools.index.scope import Scope

            records, row = found
            self.turns.open_thread(thread_id)
            scope = Scope.of(row) if row else None
            if scope is not None:  # its chips, as they were when the conversation was left
                self.turns.scope = scope
            self.scope_bar.set_scope(scope)
            self._show_records(records)
            self.input.setFocus()

        self.tasks.run(read, on_done=loaded, lane="agent")

    def _show_records(self, records: list[Any], keep: int = 0) -> None:
        """Show stored turns after the first ``keep`` turn widgets (those stay as they are)."""
        from agents.state import citations_of  # a stored thread keeps the checkpointed rows: one conversion here

        self.chat.truncate(keep)
        for record in records[keep:]:
            turn = self.chat.add_turn(record.question)
            turn.show_record(record.answer, record.mode, citations_of(record.citations))
        self.header.set_title(records[0].question if records else "")

    def regenerate(self) -> bool:
        """Ask the last question again from the checkpoint before it (Ctrl+R)."""
        if not self.chat.turns or not self.chat.turns[-1].answered:
            return False
        self._forking = self.turns.regenerate()
        return self._forking

    def edit_question(self, n: int, question: str) -> bool:
        """Re-ask turn ``n`` with ``question``: the thread forks from the checkpoint before that turn."""
        self._forking = self.turns.edit(n, question)
        return self._forking

    def edit_last(self) -> None:
        if self.chat.turns and self.chat.turns[-1].answered and not self.turns.busy:
            self.chat.turns[-1].question_box.start_edit()

    def _forked(self, n: int) -> None:
        self.chat.truncate(n)

    def _check_fork(self) -> None:
        """After a fork the view must show the thread's branch: turns that differ from it are reloaded."""
        thread = self.turns.thread_id
        if thread is None:
            return

        def compare(points: list[Any]) -> None:
            if not self.turns.busy:
                self.chat.follow([(p.question, p.answer) for p in points])

        self.tasks.run(lambda: self.backend.session().runner.turns(thread), on_done=compare,
                       on_error=lambda exc: log.warning("could not reread the conversation: %s", exc), lane="agent")

    def _turn_started(self, question: str) -> None:
        self.chat.add_turn(question)
        self.chat.set_busy(True)
        if len(self.chat.turns) == 1:
            self.header.set_title(question)
        self.send_button.setEnabled(False)
        self.stop_button.setEnabled(True)
        self.banner.hide()

    def _turn_event(self, event: object) -> None:
        from agents.runner import DraftAnswer, Progress, TokenDelta, ToolStarted, TurnDone, TurnFailed
        from agents.runner import Warning as SuspiciousText

        turn = self.chat.current
        if turn is None:
            return
        if isinstance(event, TokenDelta):
            turn.add_tokens(event.text)
        elif isinstance(event, DraftAnswer):
            turn.show_draft(event.text, event.citations)
        elif isinstance(event, ToolStarted):
            turn.tool_started(event.tool)
        elif isinstance(event, Progress):
            turn.show_progress(event.done, event.total, event.what)
        elif isinstance(event, TurnFailed):
            turn.fail(event.error)
        elif isinstance(event, SuspiciousText):
            name = event.source.replace("\\", "/").rsplit("/", 1)[-1]
            self.banner.show_message(f"Careful: {name} holds text that looks like instructions to an AI model. "
                                     "It was given to the model as data, and any action this turn asks you first.")
        elif isinstance(event, TurnDone):
            # The banner is decided here, not on Degraded: only the whole turn tells an unavailable model from an
            # answer the grounding check set aside, or a general request.
            kind = self.backend.model_kind(event.model)
            turn.finish(event, kind)
            text, tip = describe_mode(event.mode, event.model, event.fallback_reason, kind)
            self.mode_label.setText(f"Mode: {text}")
            self.mode_label.setToolTip(tip)
            notice = banner_text(event)
            if notice:
                self.banner.add_message(notice)

    def _approval(self, request: ApprovalRequest) -> None:
        turn = self.chat.current
        if turn is not None:
            turn.add_approval(request)
        if not self.isActiveWindow():
            self.show()
            self.raise_()
            self.activateWindow()

    def _turn_failed(self, message: str) -> None:
        turn: TurnWidget | None = self.chat.current
        if turn is not None:
            turn.fail(message)
        self.banner.show_message(message)

    def _turn_finished(self) -> None:
        self.chat.set_busy(False)
        self.send_button.setEnabled(True)
        self.stop_button.setEnabled(False)
        self.threads.refresh(self.turns.thread_id)
        if self._forking:
            self._forking = False
            self._check_fork()

    # -- models and scope ----------------------------------------------------------------------------------------

    def refresh_models(self) -> None:
        """The header's model picker: the models the session's registry knows, the default selected."""
        if not self.backend.ready:
            return
        registry = self.backend.session().registry
        self.header.set_models([(spec.name, spec.kind) for spec in registry.specs()],
                               self.backend.settings.models.default)

    def choose_model(self, name: str) -> None:
        """Make ``name`` the default model (saved) and reopen the session between turns, so the next turn uses it."""
        models = self.backend.settings.models
        if name == models.default:
            return
        models.default = name
        self.backend.save_settings()
        self.statusBar().showMessage(f"Switching to {name}…")
        self.settings_saved({"models"})

    # -- sources -------------------------------------------------------------------------------------------------

    def open_citation(self, citation: Citation) -> None:
        """An internal preview with the span highlighted for text files; the default app for the rest."""
        from app.gui.preview import CitationPreviewDialog, previewable

        if self.backend.ready and self.backend.session().index.root_of(citation.path) is None:
            self.banner.show_message(f"{citation.path} is not under an indexed folder any more; not opened.")
            return
        if previewable(citation.path):
            dialog = CitationPreviewDialog(citation, self.open_external, self)
            dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
            dialog.show()
            self.preview = dialog
        else:
            self.open_external(QUrl.fromLocalFile(citation.path))

    # -- feedback and traces ----------------------------------------------------------------------------------

    def save_feedback(self, trace_id: str, rating: object, sources: dict[str, str]) -> None:
        def save() -> None:
            traces = self.backend.session().traces
            if traces is not None:
                traces.set_feedback(trace_id, rating if isinstance(rating, str) else None, sources)

        self.tasks.run(save, on_done=lambda _: self.statusBar().showMessage("Thanks: feedback kept locally", 3000),
                       lane="agent")

    def show_trace(self, trace_id: str) -> None:
        """"Why this answer": the turn's stored trace as a tree."""
        from app.gui.trace_view import TraceDialog

        def read() -> Any:
            traces = self.backend.session().traces
            return None if traces is None else traces.get(trace_id)

        def show(trace: Any) -> None:
            if trace is None:
                self.banner.show_message("Traces are turned off (trust.traces = false), so there is nothing to show.")
                return
            dialog = TraceDialog(trace, self)
            dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
            dialog.show()
            self.trace_dialog = dialog

        self.tasks.run(read, on_done=show, lane="agent")

    def show_dashboard(self) -> None:
        from app.gui.dashboard import DashboardDialog

        if getattr(self, "dashboard", None) is None:
            self.dashboard = DashboardDialog(self.backend, self.tasks, self)
        self.dashboard.show()
        self.dashboard.raise_()

    # -- other windows -----------------------------------------------------------------------------------------

    def show_index_manager(self) -> None:
        self.index_dialog.show()  # showing it reloads its figures
        self.index_dialog.raise_()

    @property
    def index_dialog(self) -> Any:
        if self._index_dialog is None:
            from app.gui.index_manager import IndexManagerDialog

            self._index_dialog = IndexManagerDialog(self.backend, self.tasks, self)
        return self._index_dialog

    def show_settings(self, page: str = "models") -> None:
        from app.gui.settings_dialog import SettingsDialog

        dialog = SettingsDialog(self.backend, self.tasks, self, page=page)
        dialog.saved.connect(self.settings_saved)
        self._settings_dialog = dialog
        dialog.show()

    settings_changed = Signal(object)

    def settings_saved(self, sections: object) -> None:
        changed = set(sections) if isinstance(sections, set | frozenset | list | tuple) else set()
        if changed & {"models", "index", "agent"}:
            # New models, providers or index options: reopen the session, between turns.
            self.tasks.run(self.backend.reopen, on_done=lambda _: self._session_opened(), lane="agent")
            self._check_model()
        self.settings_changed.emit(changed)

    def _show_shortcuts(self) -> None:
        QMessageBox.information(self, "Keyboard shortcuts", (
            "Enter: send · Shift+Enter: new line · Esc: stop answering · @: name a file for the scope\n"
            "Ctrl+R: regenerate the last answer · Ctrl+Shift+E: edit the last question · Ctrl+Shift+S: add to the "
            "scope · Ctrl+M: choose the model\n"
            "Ctrl+N: new conversation · Ctrl+F: search conversations · Ctrl+L: focus the question\n"
            "Ctrl+E: export · F2: rename · Delete: delete conversation\n"
            "Ctrl+I: index manager · Ctrl+D: usage dashboard · Ctrl+,: settings · Ctrl+Q: quit\n"
            "Quick ask from anywhere: the shortcut set in Settings › Quick ask"))

    # -- closing ---------------------------------------------------------------------------------------------------

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        from PySide6.QtWidgets import QSystemTrayIcon

        if (not self.allow_close and self.backend.settings.desktop.keep_in_tray
                and QSystemTrayIcon.isSystemTrayAvailable()):
            self.hide()
            event.ignore()
            return
        event.accept()
        self.quit_requested.emit()

"""TurnController: one conversation's turns on the agent lane, each runner event re-emitted as a Qt signal.

Stop is cooperative: it sets the runner's cancel flag (the model stops between tokens, the draft answer stands) and
declines an approval that is still waiting. Approvals block the agent lane until the user answers in the view.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Signal

from app.gui.backend import Backend
from app.gui.tasks import Tasks, describe

if TYPE_CHECKING:
    from agents.runner import ApprovalNeeded


class ApprovalRequest:
    """One pending approval: the view calls ``answer(allowed, always=...)`` once (later calls are ignored)."""

    def __init__(self, request: ApprovalNeeded, cancelled: threading.Event) -> None:
        self.request = request
        self._answered = threading.Event()
        self._cancelled = cancelled
        self.allowed = False
        self.always = False

    @property
    def tool(self) -> str:
        return self.request.tool

    @property
    def args(self) -> dict[str, Any]:
        return self.request.args

    @property
    def reason(self) -> str:
        """Why this request needs a closer look (e.g. the turn read text that looks like instructions), or ""."""
        return str(getattr(self.request, "reason", "") or "")

    @property
    def answered(self) -> bool:
        return self._answered.is_set()

    def answer(self, allowed: bool, *, always: bool = False) -> None:
        if self._answered.is_set():
            return
        self.allowed, self.always = allowed, always and allowed
        self._answered.set()

    def wait(self) -> bool:
        while not self._answered.wait(0.1):
            if self._cancelled.is_set():
                self.answer(False)
        return self.allowed


class TurnController(QObject):
    """Sends questions to the agent and reports what happens, for one view (the main window or quick-ask)."""

    started = Signal(str)  # the question
    received = Signal(object)  # each runner event: DraftAnswer, TokenDelta, ToolStarted, ..., TurnDone
    approval = Signal(object)  # an ApprovalRequest the view must answer
    failed = Signal(str)  # the turn could not run at all (message for the user)
    finished = Signal()  # after TurnDone, TurnFailed or an error: the view can take the next question

    def __init__(self, backend: Backend, tasks: Tasks, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.backend = backend
        self.tasks = tasks
        self.thread_id: str | None = None
        self._busy = False
        self._stopping = threading.Event()

    @property
    def busy(self) -> bool:
        return self._busy

    def ask(self, question: str) -> bool:
        """Start a turn in the current thread; False (and nothing happens) while one is running or if empty."""
        question = question.strip()
        if self._busy or not question:
            return False
        self._busy = True
        self._stopping.clear()
        self.started.emit(question)
        self.tasks.run(lambda: self._turn(question), on_done=lambda _: self._done(),
                       on_error=self._error, lane="agent")
        return True

    def stop(self) -> None:
        """Stop the running turn: the model stops at its next token, a waiting approval is declined."""
        if not self._busy:
            return
        self._stopping.set()
        if self.backend.ready:
            self.backend.session().runner.cancel.set()

    def new_thread(self) -> None:
        self.thread_id = None

    def _turn(self, question: str) -> None:
        from agents.runner import TurnDone

        runner = self.backend.session().runner
        for item in runner.ask(question, self.thread_id, approve=self._approve):
            if isinstance(item, TurnDone):
                self.thread_id = item.thread_id
            self.tasks.post(lambda item=item: self.received.emit(item))  # type: ignore[misc]
            if self._stopping.is_set():
                runner.cancel.set()  # the graph may be past the model already; keep it from starting another call

    def _approve(self, request: ApprovalNeeded) -> bool:
        pending = ApprovalRequest(request, self._stopping)
        self.tasks.post(lambda: self.approval.emit(pending))
        allowed = pending.wait()
        if allowed and pending.always:
            self.backend.settings.agent.approvals[request.tool] = "always"
            self.backend.save_settings()
        return allowed

    def _done(self) -> None:
        self._busy = False
        self.finished.emit()

    def _error(self, exc: BaseException) -> None:
        self._busy = False
        self.failed.emit(describe(exc))
        self.finished.emit()

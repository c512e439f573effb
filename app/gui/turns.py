"""TurnController: one conversation's turns on the agent lane, each runner event re-emitted as a Qt signal.

Stop is cooperative: it sets the runner's cancel flag (the model stops between tokens, the draft answer stands) and
declines an approval that is still waiting. Approvals block the agent lane until the user answers in the view.

The controller keeps the thread's scope and sends it with every turn. Regenerate and edit fork the thread: the turn
runs again from the checkpoint before turn n (LangGraph's checkpoint history, ``Runner.turns``), so the turns after n
leave the thread's current history; ``forked(n)`` tells the view to drop them before the new turn starts.
"""

from __future__ import annotations

import dataclasses
import threading
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Signal

from app.gui.backend import Backend
from app.gui.tasks import Tasks, describe

if TYPE_CHECKING:
    from agents.runner import ApprovalNeeded, TurnOptions
    from tools.index.scope import Scope


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
    forked = Signal(int)  # before ``started`` of a regenerated or edited turn: turns from this index on are replaced
    received = Signal(object)  # each runner event: DraftAnswer, TokenDelta, ToolStarted, ..., TurnDone
    approval = Signal(object)  # an ApprovalRequest the view must answer
    failed = Signal(str)  # the turn could not run at all (message for the user)
    finished = Signal()  # after TurnDone, TurnFailed or an error: the view can take the next question
    scope_changed = Signal(object)  # the thread's Scope, or None when the thread has none of its own yet

    def __init__(self, backend: Backend, tasks: Tasks, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.backend = backend
        self.tasks = tasks
        self.thread_id: str | None = None
        self._scope: Scope | None = None
        self._busy = False
        self._stopping = threading.Event()

    @property
    def busy(self) -> bool:
        return self._busy

    @property
    def scope(self) -> Scope | None:
        """The scope sent with each turn; None keeps whatever the thread has, an empty Scope clears it."""
        return self._scope

    @scope.setter
    def scope(self, scope: Scope | None) -> None:
        if scope != self._scope:
            self._scope = scope
            self.scope_changed.emit(scope)

    def ask(self, question: str, options: TurnOptions | None = None) -> bool:
        """Start a turn in the current thread; False (and nothing happens) while one is running or if empty."""
        question = question.strip()
        if self._busy or not question:
            return False
        self._begin()
        self.started.emit(question)
        sent = self._with_scope(options)
        self.tasks.run(lambda: self._turn(question, sent), on_done=lambda _: self._done(),
                       on_error=self._error, lane="agent")
        return True

    def regenerate(self) -> bool:
        """Ask the thread's last question again from the checkpoint before it; False when there is nothing to redo."""
        return self._fork(-1, None)

    def edit(self, n: int, question: str) -> bool:
        """Replace turn ``n``'s question (0-based) and ask it from the checkpoint before that turn (a fork)."""
        question = question.strip()
        return bool(question) and n >= 0 and self._fork(n, question)

    def stop(self) -> None:
        """Stop the running turn: the model stops at its next token, a waiting approval is declined."""
        if not self._busy:
            return
        self._stopping.set()
        if self.backend.ready:
            self.backend.session().runner.cancel.set()

    def new_thread(self) -> None:
        self.thread_id = None
        self.scope = None

    def open_thread(self, thread_id: str) -> None:
        """Continue ``thread_id``: its own scope applies until the user changes it."""
        self.thread_id = thread_id
        self.scope = None

    # -- on the agent lane -----------------------------------------------------------------------------------------

    def _begin(self) -> None:
        self._busy = True
        self._stopping.clear()

    def _with_scope(self, options: TurnOptions | None) -> TurnOptions:
        from agents.runner import TurnOptions

        options = options or TurnOptions()
        if options.scope is None and self._scope is not None:
            options = dataclasses.replace(options, scope=self._scope)
        return options

    def _fork(self, n: int, question: str | None) -> bool:
        thread = self.thread_id
        if self._busy or thread is None:
            return False
        self._begin()
        scope = self._scope

        def work() -> None:
            from agents.runner import TurnOptions
            from tools.errors import ConfigError

            points = self.backend.session().runner.turns(thread)
            if not -len(points) <= n < len(points):
                raise ConfigError("that turn is no longer in this conversation; reopen it to see its turns")
            index = n % len(points)
            point = points[index]
            asked = question or point.question
            def announce() -> None:
                self.forked.emit(index)
                self.started.emit(asked)

            self.tasks.post(announce)
            self._turn(asked, TurnOptions(scope=scope, checkpoint_id=point.checkpoint_id))

        self.tasks.run(work, on_done=lambda _: self._done(), on_error=self._error, lane="agent")
        return True

    def _turn(self, question: str, options: TurnOptions) -> None:
        from agents.runner import TurnDone

        runner = self.backend.session().runner
        for item in runner.ask(question, self.thread_id, approve=self._approve, options=options):
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

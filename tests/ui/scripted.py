"""ScriptedRunner: a runner whose turns are scripted events, for desktop tests of what the window does with them.

It records each ``ask`` (question, thread, options) and keeps each thread's branch as ``TurnPoint`` rows the way the
real runner does: the checkpoint before turn n, and a turn asked from an earlier checkpoint replaces the turns from
there on (a fork). The session around it is real (index, threads, registry); only the runner is scripted.
"""

from __future__ import annotations

import contextlib
import dataclasses
import threading
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from agents.providers.fake import FakeChatModel
from agents.providers.limits import Limits
from agents.providers.registry import ModelRegistry
from agents.providers.spec import ModelSpec
from agents.runner import FROM_START, TurnDone, TurnOptions, TurnPoint
from app.gui.backend import Backend
from app.gui.chat_view import TurnWidget
from app.gui.main_window import MainWindow
from app.gui.tasks import Tasks
from app.secrets import MemorySecretStore
from app.settings import AppSettings, Paths
from tests.ui.conftest import FAKE_MODEL

Step = Any  # an event to yield, or a callable run at that point (it may block until the test lets it go on)


@dataclass
class Call:
    question: str
    thread_id: str | None
    options: TurnOptions | None


def done(answer: str = "An answer.", mode: str = "llm", **fields: Any) -> TurnDone:
    """A TurnDone with the fields a test does not care about filled in (the thread id is set when it is yielded)."""
    values: dict[str, Any] = {"thread_id": "", "answer": answer, "mode": mode, "fallback_reason": None,
                              "citations": [], "model": "fake/scripted", "prompt": None, "grounded": mode == "llm",
                              "intent": "question", "latency_ms": 1.0, "draft_ms": None}
    values.update(fields)
    return TurnDone(**values)


@dataclass
class ScriptedRunner:
    cancel: threading.Event = field(default_factory=threading.Event)
    calls: list[Call] = field(default_factory=list)
    scripts: deque[list[Step]] = field(default_factory=deque)
    # thread -> its branch: each turn's point (the checkpoint before it) and the checkpoint it ended with
    branches: dict[str, list[tuple[TurnPoint, str]]] = field(default_factory=dict)
    _checkpoints: int = 0
    scopes: dict[str, dict[str, Any] | None] = field(default_factory=dict)  # thread -> its own scope (as a row)

    def enqueue(self, *steps: Step) -> ScriptedRunner:
        """The next turn's steps; a turn with none scripted answers "Answer to <question>"."""
        self.scripts.append(list(steps))
        return self

    def ask(self, question: str, thread_id: str | None = None, approve: Callable[..., bool] | None = None, *,
            options: TurnOptions | None = None) -> Iterator[Any]:
        self.calls.append(Call(question, thread_id, options))
        self.cancel.clear()
        checkpoint = options.checkpoint_id if options else None
        thread = f"thread-{len(self.branches) + 1}" if not thread_id or checkpoint == FROM_START else thread_id
        branch = self.branches.setdefault(thread, [])
        if options is not None and options.scope is not None:
            self.scopes[thread] = None if options.scope.empty else options.scope.as_dict()
        if checkpoint and checkpoint != FROM_START:  # a fork: the turns from that checkpoint on leave the branch
            cut = next(n for n, (point, _end) in enumerate(branch) if point.checkpoint_id == checkpoint)
            del branch[cut:]
        steps = self.scripts.popleft() if self.scripts else [done(f"Answer to {question}")]
        answer = ""
        for step in steps:
            if callable(step):
                step()
                continue
            if isinstance(step, TurnDone):
                step = dataclasses.replace(step, thread_id=thread)
                answer = step.answer
            yield step
        self._checkpoints += 1
        before = branch[-1][1] if branch else FROM_START
        branch.append((TurnPoint(before, question, answer), f"cp-{self._checkpoints}"))

    def scope(self, thread_id: str) -> dict[str, Any] | None:
        return self.scopes.get(thread_id)

    def turns(self, thread_id: str) -> list[TurnPoint]:
        return [point for point, _end in self.branches.get(thread_id, [])]


def scripted_opener(runner: ScriptedRunner, registry_factory: Callable[[], Any]) -> Callable[[Any], Any]:
    """A Backend opener: the real session (over the test's home), its runner replaced by ``runner``."""
    from app.wiring.session import open_session

    @contextlib.contextmanager
    def opener(backend: Any) -> Iterator[Any]:
        with open_session(backend.settings, backend.paths, registry=registry_factory()) as session:
            yield dataclasses.replace(session, runner=runner)

    return opener


@pytest.fixture
def runner() -> ScriptedRunner:
    return ScriptedRunner()


@pytest.fixture
def scripted_backend(settings_paths: tuple[AppSettings, Paths], linked_embedder: Path,
                     runner: ScriptedRunner) -> Iterator[Backend]:
    def registry() -> ModelRegistry:
        registry = ModelRegistry([ModelSpec(name=FAKE_MODEL, kind="fake")], Limits(retries=0))
        registry.register_factory("fake", lambda _spec, _registry: (FakeChatModel(), True))
        return registry

    b = Backend(*settings_paths, secrets=MemorySecretStore(), opener=scripted_opener(runner, registry))
    yield b
    b.close()


def opened_window(qtbot, backend: Backend, tasks: Tasks, docs: Path) -> MainWindow:  # type: ignore[no-untyped-def]
    """The main window over an index of ``docs``, shown, its session open."""
    index = backend.session().index
    index.add_root(docs)
    index.sync()
    w = MainWindow(backend, tasks)
    qtbot.addWidget(w)
    w.show()
    with qtbot.waitSignal(w.session_ready, timeout=30_000):
        w.open_session()
    return w


@pytest.fixture
def conversation(qtbot, scripted_backend: Backend, tasks: Tasks, docs: Path) -> MainWindow:  # type: ignore[no-untyped-def]
    """The main window over an index of ``docs``, its session open, its runner scripted."""
    return opened_window(qtbot, scripted_backend, tasks, docs)


def send(qtbot, window: MainWindow, text: str) -> None:  # type: ignore[no-untyped-def]
    window.input.setPlainText(text)
    with qtbot.waitSignal(window.turns.finished, timeout=30_000):
        window.send()


def turn(window: MainWindow, n: int = -1) -> TurnWidget:
    return window.chat.turns[n]

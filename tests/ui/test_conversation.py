"""The conversation in the main window: badges per mode, a truthful banner, regenerate and edit as forks, progress with
Stop, long answers collapsed, answers styled in both themes, and the model picker.

Most tests drive the window with a ScriptedRunner (tests/ui/scripted.py) in a real session, so the events are exactly
the ones under test; the banner's set-aside case and the model picker run the real agent with scripted models.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor

from agents.providers.fake import FakeChatModel
from agents.providers.limits import Limits
from agents.providers.registry import ModelRegistry
from agents.providers.spec import ModelSpec
from agents.runner import FROM_START, Progress, TokenDelta
from app.gui.answer_labels import banner_text, describe_mode, fallback_kind
from app.gui.backend import Backend
from app.gui.chat_view import TurnWidget
from app.gui.main_window import MainWindow
from app.gui.tasks import Tasks
from app.secrets import MemorySecretStore
from app.settings import AppSettings, Paths
from tests.ui.conftest import FAKE_MODEL
from tests.ui.scripted import ScriptedRunner, conversation, done, runner, scripted_backend, send, turn

__all__ = ["conversation", "runner", "scripted_backend"]  # fixtures, shared with test_scope_bar.py

SET_ASIDE = "the model's answer made claims its sources do not support: 'The answer is:'"


# -- badges and the banner --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("case", "route_badge", "who", "banner"), [
    (done("Thirty days [1].", "llm"), "From your files", "model", None),
    (done("A haiku.", "general", route="general", route_reason="The request does not need your files."),
     "Not from your files", "model", None),
    (done("391", "exact", model=None, route="exact"), "Exact", None, None),
    (done("Thirty days.", "cache", model=None), "Cached", None, None),
    (done("Thirty days.", "fallback", fallback_reason="timeout: no first token in 5 s"),
     "Extract — model unavailable: timeout: no first token in 5 s", None,
     "Running without a model: timeout: no first token in 5 s. Answers quote your files directly."),
    (done("Thirty days.", "fallback", fallback_reason=SET_ASIDE), "Extract — model's answer set aside", None,
     f"The model answered, but its answer was set aside: {SET_ASIDE}; showing the extract from your files."),
    (done("A model would write the haiku.", "fallback", model=None, route="general",
          fallback_reason="not_installed: no model is installed"),
     "No model — not from your files", None,
     "Running without a model: not_installed: no model is installed. This request is not about your files, so "
     "only a model can answer it: choose a model above the conversation or add one in Settings › Models."),
])
def test_each_mode_gets_its_badge_and_the_banner_says_what_happened(qtbot, conversation: MainWindow,
                                                                    runner: ScriptedRunner, case, route_badge: str,
                                                                    who: str | None, banner: str | None) -> None:
    runner.enqueue(case)
    send(qtbot, conversation, "A question")
    shown = turn(conversation)
    assert shown.route_badge.text() == route_badge and shown.route_badge.isVisible()
    assert shown.badge.isVisible() is (who is not None)
    if who is not None:
        assert shown.badge.text() == who
    assert conversation.banner.isVisible() is (banner is not None)
    if banner is not None:
        assert conversation.banner.label.text() == banner
    if case.route_reason:
        assert f"Why: {case.route_reason}" in shown.route_badge.toolTip()


def test_the_route_badge_tells_the_query_searched_and_the_scope(qtbot, conversation: MainWindow,
                                                                 runner: ScriptedRunner, docs: Path) -> None:
    runner.enqueue(done("Three weeks [1].", query="how long does shipping take for the Halvorsen pump",
                        scope={"folders": [str(docs)], "files": [], "types": ["pdf"], "after": None,
                               "before": None}))
    send(qtbot, conversation, "and how long does shipping take for it?")
    tip = turn(conversation).route_badge.toolTip()
    assert "Searched for: how long does shipping take for the Halvorsen pump" in tip
    assert "Scope: folder: docs, type: pdf" in tip


def test_a_model_answer_set_aside_by_the_grounding_check_is_not_called_running_without_a_model(
        qtbot, window: MainWindow, fake_model: FakeChatModel) -> None:
    fake_model.enqueue("The answer is: purple, as everyone knows.")
    window.input.setPlainText("How long are backups kept?")
    with qtbot.waitSignal(window.turns.finished, timeout=30_000):
        window.send()
    text = window.banner.label.text()
    assert window.banner.isVisible() and text.startswith("The model answered, but its answer was set aside: ")
    assert "Running without a model" not in text and text.endswith("showing the extract from your files.")
    shown = turn(window)
    assert shown.route_badge.text() == "Extract — model's answer set aside"
    assert "set aside" in shown.status.text() and "thirty days" in shown.answer.toPlainText()


def test_banner_and_badge_words_for_each_reason() -> None:
    assert fallback_kind(None, "m") == "none"
    assert fallback_kind("unreachable: the server did not answer", "m") == "unavailable"
    assert fallback_kind("circuit_open: x; timeout: y", "m") == "unavailable"
    assert fallback_kind("cancelled: stopped", "m") == "stopped"
    assert fallback_kind("the model's answer cited none of the sources", "m") == "set_aside"
    assert fallback_kind("retrieval failed", None) == "unavailable"  # no model ran at all
    assert banner_text(done("x", "fallback", fallback_reason="cancelled: the user stopped it")) is None
    assert banner_text(done("x", "fallback", model=None)) is None  # an extract nobody asked a model for
    assert banner_text(done("x", "fallback", model=None, route="general")).startswith("No model is set up.")
    assert banner_text(done("x", "general", route="general")) is None
    text, tip = describe_mode("general", "local/x", None, "onnx")
    assert text == "not from your files" and "on this computer" in tip and "not from your files" in tip
    assert describe_mode("exact", None, None)[0] == "exact"
    assert "set aside" in describe_mode("fallback", "local/x", SET_ASIDE)[1]


def test_hostile_text_in_a_reason_or_a_route_reason_is_shown_as_text(qtbot, conversation: MainWindow,
                                                                      runner: ScriptedRunner) -> None:
    reason = "unreachable: <b>bold</b> <img src='file:///etc/passwd'> \udcff"
    runner.enqueue(done("x", "fallback", fallback_reason=reason, route_reason="<script>alert(1)</script>"))
    send(qtbot, conversation, "A question")
    shown = turn(conversation)
    assert shown.route_badge.textFormat() == Qt.TextFormat.PlainText and "<b>bold</b>" in shown.route_badge.text()
    tip = shown.route_badge.toolTip()
    assert "<script>" not in tip and "&lt;script&gt;" in tip and "<img" not in tip  # a tooltip reads HTML
    label = conversation.banner.label
    assert label.textFormat() == Qt.TextFormat.PlainText and "<b>bold</b>" in label.text()


# -- regenerate and edit: forks of the thread ---------------------------------------------------------------------


def test_regenerate_asks_the_last_question_again_from_the_checkpoint_before_it(qtbot, conversation: MainWindow,
                                                                               runner: ScriptedRunner) -> None:
    send(qtbot, conversation, "What is the warranty on the Halvorsen pump?")
    send(qtbot, conversation, "and how long does shipping take for it?")
    thread = conversation.turns.thread_id
    assert thread is not None
    before_last = runner.turns(thread)[-1].checkpoint_id
    assert not turn(conversation, 0).regenerate.isVisibleTo(conversation)  # only on the last answer
    assert turn(conversation).regenerate.isVisibleTo(conversation)
    runner.enqueue(done("Shipping takes three weeks."))
    with qtbot.waitSignal(conversation.turns.finished, timeout=30_000):
        conversation.regenerate_action.trigger()  # what Ctrl+R does
    assert conversation.regenerate_action.shortcut().toString() == "Ctrl+R"
    call = runner.calls[-1]
    assert call.question == "and how long does shipping take for it?" and call.thread_id == thread
    assert call.options is not None and call.options.checkpoint_id == before_last != FROM_START
    assert [t.question.text() for t in conversation.chat.turns] == ["What is the warranty on the Halvorsen pump?",
                                                                    "and how long does shipping take for it?"]
    assert "three weeks" in turn(conversation).answer.toPlainText()
    assert len(runner.turns(thread)) == 2  # a fork: the old last turn left the branch, no copy was made


def test_editing_a_question_re_asks_it_from_that_turns_checkpoint(qtbot, conversation: MainWindow,
                                                                  runner: ScriptedRunner) -> None:
    for question in ("First question", "Second question", "Third question"):
        send(qtbot, conversation, question)
    thread = conversation.turns.thread_id
    assert thread is not None
    before_second = runner.turns(thread)[1].checkpoint_id
    box = turn(conversation, 1).question_box
    assert box.edit_button.isEnabled()
    box.edit_button.click()
    assert box.editing and box.editor.toPlainText() == "Second question"
    box.editor.setPlainText("Second question, asked better")
    with qtbot.waitSignal(conversation.turns.finished, timeout=30_000):
        box.reask.click()
    call = runner.calls[-1]
    assert call.question == "Second question, asked better" and call.thread_id == thread
    assert call.options is not None and call.options.checkpoint_id == before_second
    assert [t.question.text() for t in conversation.chat.turns] == ["First question", "Second question, asked better"]
    assert [p.question for p in runner.turns(thread)] == ["First question", "Second question, asked better"]


def test_editing_the_first_question_starts_from_the_beginning(qtbot, conversation: MainWindow,
                                                              runner: ScriptedRunner) -> None:
    send(qtbot, conversation, "First question")
    send(qtbot, conversation, "Second question")
    box = turn(conversation, 0).question_box
    box.start_edit()
    box.editor.setPlainText("A better first question")
    with qtbot.waitSignal(conversation.turns.finished, timeout=30_000):
        qtbot.keyClick(box.editor, Qt.Key.Key_Return)  # Enter re-asks, as in the question box
    assert runner.calls[-1].options.checkpoint_id == FROM_START  # type: ignore[union-attr]
    assert [t.question.text() for t in conversation.chat.turns] == ["A better first question"]


def test_escape_cancels_an_edit_and_nothing_is_asked(qtbot, conversation: MainWindow, runner: ScriptedRunner) -> None:
    send(qtbot, conversation, "First question")
    box = turn(conversation).question_box
    box.start_edit()
    qtbot.keyClicks(box.editor, " changed")
    qtbot.keyClick(box.editor, Qt.Key.Key_Escape)
    assert not box.editing and box.label.text() == "First question" and len(runner.calls) == 1


def test_after_a_fork_the_view_follows_the_threads_branch(qtbot, conversation: MainWindow,
                                                          runner: ScriptedRunner) -> None:
    send(qtbot, conversation, "First question")
    send(qtbot, conversation, "Second question")
    thread = conversation.turns.thread_id
    assert thread is not None
    point, end = runner.branches[thread][0]
    runner.branches[thread][0] = (type(point)(point.checkpoint_id, "First question, as stored", "Stored."), end)
    with qtbot.waitSignal(conversation.turns.finished, timeout=30_000):
        conversation.regenerate()
    qtbot.waitUntil(lambda: turn(conversation, 0).question.text() == "First question, as stored", timeout=10_000)
    assert [t.question.text() for t in conversation.chat.turns] == ["First question, as stored", "Second question"]


def test_nothing_to_regenerate_or_edit_without_a_finished_turn(qtbot, conversation: MainWindow) -> None:
    assert conversation.regenerate() is False
    assert conversation.turns.regenerate() is False and conversation.turns.edit(0, "x") is False
    conversation.turns.thread_id = "some-thread"
    assert conversation.turns.edit(0, "   ") is False and conversation.turns.edit(-1, "x") is False


def test_while_a_turn_runs_no_turn_can_be_edited_or_regenerated(qtbot, conversation: MainWindow,
                                                                runner: ScriptedRunner) -> None:
    send(qtbot, conversation, "First question")
    seen: list[tuple[bool, bool]] = []
    runner.enqueue(TokenDelta("Thinking"), done("Second answer."))
    conversation.turns.received.connect(lambda e: seen.append(
        (turn(conversation, 0).question_box.edit_button.isVisibleTo(conversation),
         turn(conversation, 0).regenerate.isVisibleTo(conversation))) if isinstance(e, TokenDelta) else None)
    send(qtbot, conversation, "Second question")
    assert seen == [(False, False)]
    assert turn(conversation, 0).question_box.edit_button.isVisibleTo(conversation)


# -- progress, stop, long answers, styling --------------------------------------------------------------------------


def test_progress_shows_a_bar_whose_stop_stops_the_turn(qtbot, conversation: MainWindow,
                                                        runner: ScriptedRunner) -> None:
    seen: list[tuple[int, int, str]] = []
    stopped: list[bool] = []

    def on_event(event: object) -> None:
        shown = turn(conversation)
        if isinstance(event, Progress) and event.done == 2:
            seen.append((shown.progress.value(), shown.progress.maximum(), shown.progress_label.text()))
            assert shown.progress_box.isVisible()
            shown.progress_stop.click()

    runner.enqueue(Progress(1, 4, "Reading contract.pdf"), Progress(2, 4, "Reading contract.pdf"),
                   lambda: stopped.append(runner.cancel.wait(10)),  # the runner goes on once Stop reached it
                   done("The deadlines so far: 1 May [1].", "fallback", fallback_reason="cancelled: stopped"))
    conversation.turns.received.connect(on_event)
    send(qtbot, conversation, "List every deadline in contract.pdf")
    assert seen == [(2, 4, "Reading contract.pdf (2 of 4)")]
    assert stopped == [True]
    shown = turn(conversation)
    assert not shown.progress_box.isVisible() and shown.route_badge.text() == "Extract — model stopped"
    assert not conversation.banner.isVisible()  # the user stopped it: nothing to warn about


def test_a_long_answer_can_be_collapsed_and_one_from_the_history_starts_collapsed(qtbot) -> None:
    long_answer = "\n\n".join(f"Paragraph {n} of a long answer." for n in range(80))
    live = TurnWidget("Summarise the report")
    qtbot.addWidget(live)
    live.resize(600, 400)
    live.show()
    live.finish(done(long_answer))
    assert live.more.isVisible() and live.more.text() == "Show less"  # just read: whole
    whole = live.answer.height()
    live.more.click()
    assert live.answer.collapsed and live.answer.height() < whole and live.more.text() == "Show more"
    assert live.more.accessibleName() == "Show the whole answer"
    stored = TurnWidget("Summarise the report")
    qtbot.addWidget(stored)
    stored.resize(600, 400)
    stored.show()
    stored.show_record(long_answer, "llm", [])
    assert stored.answer.collapsed and stored.more.isVisible() and stored.more.text() == "Show more"
    stored.more.click()
    assert stored.answer.height() == stored.answer.content_height
    short = TurnWidget("Q")
    qtbot.addWidget(short)
    short.show()
    short.show_record("Thirty days.", "llm", [])
    assert not short.more.isVisible()


@pytest.mark.parametrize("dark", [False, True])
def test_code_and_tables_are_styled_and_readable_in_both_themes(qtbot, dark: bool) -> None:
    from PySide6.QtWidgets import QApplication

    from app.gui import markdown
    from app.gui.theme import apply_theme, contrast, palette

    colours = markdown.chrome(dark)
    text = palette(dark).color(palette(dark).ColorRole.Text)
    assert contrast(text, QColor(colours["code_bg"])) >= 4.5 and contrast(text, QColor(colours["header_bg"])) >= 4.5
    apply_theme(QApplication.instance(), "dark" if dark else "light")  # type: ignore[arg-type]
    try:
        shown = TurnWidget("Q")
        qtbot.addWidget(shown)
        shown.finish(done("| a | b |\n|---|---|\n| 1 | 2 |\n\n```python\nx = 1\n```"))
        sheet = shown.answer.document().defaultStyleSheet()
        assert colours["code_bg"] in sheet and colours["border"] in sheet and "td" in sheet
    finally:
        apply_theme(QApplication.instance(), "light")  # type: ignore[arg-type]


def test_question_and_answer_are_set_apart(qtbot) -> None:
    shown = TurnWidget("<b>How long</b> are backups kept?")
    qtbot.addWidget(shown)
    assert shown.question_box.objectName() == "question" and "alternate-base" in shown.question_box.styleSheet()
    assert shown.question.parent() is shown.question_box and shown.answer.parent() is shown
    assert shown.question.textFormat() == Qt.TextFormat.PlainText  # the user's words are text, never markup


# -- the model picker -------------------------------------------------------------------------------------------------


@pytest.fixture
def two_models() -> dict[str, FakeChatModel]:
    return {FAKE_MODEL: FakeChatModel(), "fake/other": FakeChatModel()}


@pytest.fixture
def picker_window(qtbot, settings_paths: tuple[AppSettings, Paths], linked_embedder: Path, tasks: Tasks,  # type: ignore[no-untyped-def]
                  docs: Path, two_models: dict[str, FakeChatModel]) -> Iterator[MainWindow]:
    from app.wiring.session import open_session

    opened: list[str] = []

    def opener(b: Backend):  # type: ignore[no-untyped-def]
        registry = ModelRegistry([ModelSpec(name=n, kind="fake") for n in two_models], Limits(retries=0))
        registry.register_factory("fake", lambda spec, _registry: (two_models[spec.name], True))
        opened.append(b.settings.models.default)
        return open_session(b.settings, b.paths, registry=registry)

    backend = Backend(*settings_paths, secrets=MemorySecretStore(), opener=opener)
    index = backend.session().index
    index.add_root(docs)
    index.sync()
    w = MainWindow(backend, tasks)
    w.opened = opened  # type: ignore[attr-defined]
    qtbot.addWidget(w)
    w.show()
    with qtbot.waitSignal(w.session_ready, timeout=30_000):
        w.open_session()
    yield w
    backend.close()


def test_the_model_picker_lists_the_models_and_switches_the_next_turns(qtbot, picker_window: MainWindow,
                                                                       two_models: dict[str, FakeChatModel]) -> None:
    combo = picker_window.header.models
    assert [combo.itemText(i) for i in range(combo.count())] == [FAKE_MODEL, "fake/other"]
    assert combo.currentText() == FAKE_MODEL and combo.accessibleName() == "Model for the next answers"
    with qtbot.waitSignal(picker_window.session_ready, timeout=30_000):
        assert picker_window.header.choose("fake/other")
    backend = picker_window.backend
    assert backend.settings.models.default == "fake/other"
    assert 'default = "fake/other"' in backend.paths.settings_file.read_text(encoding="utf-8")  # kept
    assert picker_window.opened == [FAKE_MODEL, "fake/other"]  # type: ignore[attr-defined]
    assert picker_window.header.models.currentText() == "fake/other"
    two_models["fake/other"].enqueue("Backups are kept for thirty days [1].")
    picker_window.input.setPlainText("How long are backups kept?")
    with qtbot.waitSignal(picker_window.turns.finished, timeout=30_000):
        picker_window.send()
    shown = turn(picker_window)
    assert shown.done is not None and shown.done.model == "fake/other" and shown.done.mode == "llm"
    assert not two_models[FAKE_MODEL].calls


def test_the_picker_shows_a_configured_default_the_registry_does_not_know(qtbot) -> None:
    from app.gui.conversation_header import ConversationHeaderWidget

    header = ConversationHeaderWidget()
    qtbot.addWidget(header)
    chosen: list[str] = []
    header.model_chosen.connect(chosen.append)
    header.set_models([("local/a", "onnx"), ("remote/b", "openai")], "gone/model")
    assert header.models.currentText() == "gone/model (not configured)" and chosen == []
    assert header.choose("remote/b") and chosen == ["remote/b"]
    assert not header.choose("no/such") and header.choose("remote/b") and chosen == ["remote/b"]  # no re-emit
    header.set_title("<i>Backups</i>\n" + "x" * 200)
    assert header.title.textFormat() == Qt.TextFormat.PlainText and header.title.text().endswith("…")


def test_every_new_control_has_a_name(qtbot, conversation: MainWindow, runner: ScriptedRunner) -> None:
    from tests.ui.test_accessibility import unnamed_controls

    runner.enqueue(Progress(1, 3, "Reading"), done("Thirty days [1]."))
    send(qtbot, conversation, "How long are backups kept?")
    conversation.scope_bar.add_type("markdown")
    turn(conversation).question_box.start_edit()
    turn(conversation).progress_box.show()
    assert unnamed_controls(conversation) == []


def test_a_turns_banner_keeps_its_earlier_warning(qtbot, conversation: MainWindow, runner: ScriptedRunner) -> None:
    from agents.runner import Warning as SuspiciousText

    runner.enqueue(SuspiciousText("/docs/fees.md", ["addresses the model"]),
                   done("x", "fallback", fallback_reason=SET_ASIDE))
    send(qtbot, conversation, "How much is the fee?")
    lines = conversation.banner.label.text().split("\n")
    assert lines[0].startswith("Careful: fees.md holds text") and lines[1].startswith("The model answered, but")
    runner.enqueue(done("Thirty days [1]."))
    send(qtbot, conversation, "How long are backups kept?")
    assert not conversation.banner.isVisible()  # a new turn starts with a clean banner


def two_model_turns(qtbot, window: MainWindow, fake_model: FakeChatModel) -> str | None:  # type: ignore[no-untyped-def]
    """Two answered turns in a new thread of the real agent (backups, then the passport fee); the thread's id."""
    fake_model.enqueue("Backups are kept for thirty days [1].")
    send(qtbot, window, "How long are backups kept?")
    fake_model.enqueue("The fee is 95 euros [1].")
    send(qtbot, window, "How much is the passport fee?")
    return window.turns.thread_id


def test_editing_forks_the_real_agents_thread(qtbot, window: MainWindow, backend: Backend,
                                             fake_model: FakeChatModel) -> None:
    thread = two_model_turns(qtbot, window, fake_model)
    assert thread is not None
    fake_model.enqueue("Renewing takes about three weeks [1].")
    box = turn(window, 1).question_box
    box.start_edit()
    box.editor.setPlainText("How long does renewing a passport take?")
    with qtbot.waitSignal(window.turns.finished, timeout=30_000):
        box.reask.click()
    stored = backend.session().threads.messages(thread)
    assert [r.question for r in stored] == ["How long are backups kept?", "How long does renewing a passport take?"]
    assert [t.question.text() for t in window.chat.turns] == [r.question for r in stored]
    assert window.turns.thread_id == thread and "three weeks" in turn(window).answer.toPlainText()
    assert len(backend.session().runner.turns(thread)) == 2


def test_regenerate_in_the_real_agent_asks_the_model_again(qtbot, window: MainWindow, backend: Backend,
                                                           fake_model: FakeChatModel) -> None:
    thread = two_model_turns(qtbot, window, fake_model)
    fake_model.enqueue("The fee is 95 euros, paid at the counter [1].")
    with qtbot.waitSignal(window.turns.finished, timeout=30_000):
        assert window.regenerate()
    assert window.turns.thread_id == thread
    stored = backend.session().threads.messages(thread or "")
    assert [r.question for r in stored] == ["How long are backups kept?", "How much is the passport fee?"]
    assert turn(window).done.mode != "cache"  # type: ignore[union-attr]
    assert stored[-1].answer == "The fee is 95 euros, paid at the counter [1]."  # the model's new answer

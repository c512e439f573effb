"""The scope chips above the question: added from the menu or with ``@``, removed with ×, sent with every turn.

The menu offers only what the index holds (its folders, its files' types); a folder outside it is refused. File names
are data: markup in one is shown as text, a non-UTF-8 one is shown with a replacement character and kept exact.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from PySide6.QtCore import Qt

from app.gui.main_window import MainWindow
from app.gui.question_box import QuestionEdit
from app.gui.scope_bar import MentionCompleter, ScopeBarWidget, file_type
from tests.ui.scripted import ScriptedRunner, conversation, runner, scripted_backend, send
from tools.index.scope import Scope

__all__ = ["conversation", "runner", "scripted_backend"]  # fixtures (tests/ui/scripted.py)


def chip_labels(bar: ScopeBarWidget) -> list[str]:
    return [chip.label_text for chip in bar.chips]


def catalogue_loaded(qtbot, window: MainWindow) -> None:  # type: ignore[no-untyped-def]
    qtbot.waitUntil(lambda: window.mentions.loaded and bool(window.scope_bar.roots), timeout=10_000)


def test_chips_are_sent_with_every_turn_and_removing_the_last_clears_the_scope(qtbot, conversation: MainWindow,
                                                                               runner: ScriptedRunner,
                                                                               docs: Path) -> None:
    catalogue_loaded(qtbot, conversation)
    bar = conversation.scope_bar
    send(qtbot, conversation, "Before any scope")
    assert runner.calls[-1].options is not None and runner.calls[-1].options.scope is None  # the thread's own
    assert bar.add_folder(str(docs))
    bar.add_type("markdown")
    assert chip_labels(bar) == ["folder: docs", "type: markdown"] and not bar.whole.isVisible()
    send(qtbot, conversation, "What does the passport cost?")
    send(qtbot, conversation, "And how long does it take?")
    for call in runner.calls[1:]:
        assert call.options is not None
        assert call.options.scope == Scope(folders=(str(docs.resolve()),), types=("markdown",))
    bar.chips[0].remove.click()  # × on "folder: docs"
    assert chip_labels(bar) == ["type: markdown"]
    bar.chips[0].remove.click()
    assert chip_labels(bar) == [] and bar.whole.isVisible()
    send(qtbot, conversation, "Now everywhere")
    scope = runner.calls[-1].options.scope  # type: ignore[union-attr]
    assert scope is not None and scope.empty  # an empty scope clears the thread's, unlike None


def test_a_new_conversation_starts_without_a_scope(qtbot, conversation: MainWindow, runner: ScriptedRunner) -> None:
    conversation.scope_bar.add_type("markdown")
    send(qtbot, conversation, "Scoped")
    conversation.new_thread()
    assert conversation.turns.scope is None and chip_labels(conversation.scope_bar) == []
    send(qtbot, conversation, "Unscoped")
    assert runner.calls[-1].options.scope is None  # type: ignore[union-attr]


def test_a_reopened_conversation_keeps_its_own_scope_until_one_is_set(qtbot, conversation: MainWindow) -> None:
    conversation.scope_bar.show_inherited()
    assert conversation.scope_bar.whole.text() == "This conversation's own scope"
    conversation.scope_bar.add_type("pdf")
    assert conversation.turns.scope == Scope(types=("pdf",))


def test_the_menu_offers_the_indexed_folders_and_types_and_refuses_a_folder_outside(qtbot, conversation: MainWindow,
                                                                                   docs: Path,
                                                                                   tmp_path: Path) -> None:
    catalogue_loaded(qtbot, conversation)
    bar = conversation.scope_bar
    assert bar.roots == [str(docs.resolve())] and bar.types() == [("markdown", 2)]
    bar._fill_menu()
    folder_menu, type_menu = (a.menu() for a in bar.menu.actions()[:2])
    assert [a.text() for a in folder_menu.actions() if a.text()][0] == str(docs.resolve())
    assert [a.text() for a in type_menu.actions()] == ["markdown (2)"]
    type_menu.actions()[0].trigger()
    assert chip_labels(bar) == ["type: markdown"]
    refused: list[str] = []
    bar.refused.connect(refused.append)
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    bar.pick_folder = lambda *_args: str(outside)  # type: ignore[assignment]
    bar.choose_folder()
    assert chip_labels(bar) == ["type: markdown"] and "not inside an indexed folder" in refused[0]
    assert "not inside an indexed folder" in conversation.banner.label.text()
    inside = docs / "sub"
    inside.mkdir()
    bar.pick_folder = lambda *_args: str(inside)  # type: ignore[assignment]
    bar.choose_folder()
    assert chip_labels(bar) == ["folder: sub", "type: markdown"]
    assert conversation.turns.scope == Scope(folders=(str(inside.resolve()),), types=("markdown",))


def test_a_date_range_becomes_chips_and_a_backwards_one_is_refused(qtbot) -> None:
    bar = ScopeBarWidget()
    qtbot.addWidget(bar)
    sent: list[Scope] = []
    refused: list[str] = []
    bar.scope_changed.connect(sent.append)
    bar.refused.connect(refused.append)
    bar.pick_dates = lambda _after, _before: (date(2024, 1, 1), date(2025, 1, 1))  # type: ignore[assignment]
    bar.choose_dates()
    assert chip_labels(bar) == ["from 2024-01-01", "before 2025-01-01"]
    assert sent[-1] == Scope(after=date(2024, 1, 1), before=date(2025, 1, 1))
    bar.set_dates(date(2025, 1, 1), date(2024, 1, 1))
    assert len(sent) == 1 and "No day is both" in refused[0]
    bar.remove("before 2025-01-01")
    assert sent[-1] == Scope(after=date(2024, 1, 1))


def test_the_date_dialog_checks_its_range(qtbot) -> None:
    from app.gui.scope_bar import DateRangeDialog

    dialog = DateRangeDialog(date(2024, 5, 1), None)
    qtbot.addWidget(dialog)
    assert dialog.dates() == (date(2024, 5, 1), None)
    dialog.use_before.setChecked(True)
    dialog.before.setDate(dialog.before.date().fromString("2024-01-01", "yyyy-MM-dd"))
    dialog._accept()
    assert dialog.result() != dialog.DialogCode.Accepted and "must come before" in dialog.error.text()


def test_at_opens_the_indexed_files_and_choosing_one_adds_a_file_chip(qtbot, conversation: MainWindow,
                                                                      runner: ScriptedRunner, docs: Path) -> None:
    catalogue_loaded(qtbot, conversation)
    conversation.input.setFocus()
    qtbot.keyClicks(conversation.input, "what does @pass")
    popup = conversation.mentions.popup
    qtbot.waitUntil(popup.isVisible, timeout=5_000)
    assert conversation.mentions.completer.completionCount() == 1
    qtbot.keyClick(popup, Qt.Key.Key_Down)
    qtbot.keyClick(popup, Qt.Key.Key_Return)  # chooses; it does not send the question
    passport = str(docs.resolve() / "passport.md")
    assert chip_labels(conversation.scope_bar) == ["file: passport.md"] and not runner.calls
    assert conversation.input.toPlainText() == "what does "
    qtbot.keyClicks(conversation.input, "it cost?")
    with qtbot.waitSignal(conversation.turns.finished, timeout=30_000):
        qtbot.keyClick(conversation.input, Qt.Key.Key_Return)
    assert runner.calls[-1].question == "what does it cost?"
    assert runner.calls[-1].options.scope == Scope(files=(passport,))  # type: ignore[union-attr]


def test_an_at_inside_a_word_or_with_no_match_opens_nothing(qtbot) -> None:
    edit = QuestionEdit()
    qtbot.addWidget(edit)
    edit.show()
    mentions = MentionCompleter(edit)
    mentions.set_paths(["/docs/passport.md"])
    qtbot.keyClicks(edit, "mail me at someone@pass")
    assert not mentions.popup.isVisible()
    edit.clear()
    qtbot.keyClicks(edit, "@zzz")
    assert not mentions.popup.isVisible()
    qtbot.keyClick(edit, Qt.Key.Key_Backspace)
    qtbot.keyClick(edit, Qt.Key.Key_Backspace)
    qtbot.keyClick(edit, Qt.Key.Key_Backspace)
    assert mentions.popup.isVisible()  # "@": every file


def test_the_files_are_asked_for_once_when_at_is_typed_before_they_are_known(qtbot) -> None:
    edit = QuestionEdit()
    qtbot.addWidget(edit)
    mentions = MentionCompleter(edit)
    wanted: list[bool] = []
    mentions.wanted.connect(lambda: wanted.append(True))
    qtbot.keyClicks(edit, "@pa")
    assert wanted == [True] and not mentions.loaded
    mentions.set_paths(["/docs/passport.md"])
    assert mentions.completer.completionCount() == 1


def test_hostile_file_names_are_shown_as_text_and_kept_exact(qtbot) -> None:
    edit = QuestionEdit()
    qtbot.addWidget(edit)
    edit.show()
    mentions = MentionCompleter(edit)
    odd = "/docs/caf\udce9.md"  # a Latin-1 name read as UTF-8 with surrogateescape
    markup = "/docs/<img src=x><b>bold.md"
    mentions.set_paths([odd, markup, *(f"/docs/many/{n}.txt" for n in range(5000))])
    chosen: list[str] = []
    mentions.chosen.connect(chosen.append)
    qtbot.keyClicks(edit, "@caf")
    assert mentions.completer.currentCompletion() == "caf\ufffd.md — /docs"
    mentions.completer.activated[str].emit("caf\ufffd.md — /docs")  # type: ignore[index]
    assert chosen == [odd] and edit.toPlainText() == ""
    bar = ScopeBarWidget()
    qtbot.addWidget(bar)
    bar.add_file(odd)
    bar.add_file(markup)
    assert [c.text.text() for c in bar.chips] == ["file: caf\ufffd.md", "file: <img src=x><b>bold.md"]
    assert all(c.text.textFormat() == Qt.TextFormat.PlainText for c in bar.chips)
    assert bar.scope == Scope(files=(odd, markup))
    assert file_type("/x/report.PDF") == "pdf" and file_type("/x/Makefile") == "no extension"


def test_a_chip_of_a_non_utf8_name_can_be_removed(qtbot) -> None:
    bar = ScopeBarWidget()
    qtbot.addWidget(bar)
    bar.add_file("/docs/caf\udce9.md")
    bar.add_type("pdf")
    bar.chips[0].remove.click()
    assert bar.scope == Scope(types=("pdf",))


def test_a_reopened_conversation_shows_its_own_chips(qtbot, conversation: MainWindow, runner: ScriptedRunner,
                                                     monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # The scripted runner keeps no thread store of its own: the reopened thread's messages are none.
    monkeypatch.setattr(conversation.backend.session().threads, "messages", lambda thread_id: [])
    conversation.scope_bar.add_type("pdf")
    send(qtbot, conversation, "Which invoices are overdue?")
    thread = conversation.turns.thread_id
    assert thread is not None and runner.scope(thread) == Scope(types=("pdf",)).as_dict()
    conversation.new_thread()
    assert chip_labels(conversation.scope_bar) == []
    conversation.open_thread(thread)
    qtbot.waitUntil(lambda: chip_labels(conversation.scope_bar) == ["type: pdf"], timeout=10_000)
    assert conversation.turns.scope == Scope(types=("pdf",))

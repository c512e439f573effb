"""Settings > Prompts: the system prompt saved with the settings; presets listed, added, edited, validated, reset."""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtWidgets import QDialogButtonBox

from agents.presets import load_presets
from app.gui.backend import Backend
from app.gui.presets_page import PresetsPageWidget
from app.gui.settings_dialog import SettingsDialog
from app.gui.tasks import Tasks
from app.secrets import MemorySecretStore
from app.settings import AppSettings, Paths, load_settings


@pytest.fixture
def user_dir(settings_paths: tuple[AppSettings, Paths]) -> Path:
    return settings_paths[1].config_dir / "prompts"


@pytest.fixture
def page(qtbot, settings_paths: tuple[AppSettings, Paths], user_dir: Path) -> PresetsPageWidget:  # type: ignore[no-untyped-def]
    widget = PresetsPageWidget(settings_paths[0], user_dir)
    qtbot.addWidget(widget)
    return widget


@pytest.fixture
def no_session_backend(settings_paths: tuple[AppSettings, Paths]) -> Iterator[Backend]:
    def no_session(_backend: Backend):  # type: ignore[no-untyped-def]
        raise AssertionError("the settings dialog must not open the agent session")

    b = Backend(*settings_paths, secrets=MemorySecretStore(), opener=no_session)
    yield b
    b.close()


def rows(page: PresetsPageWidget) -> list[str]:
    return [page.list.item(i).text() for i in range(page.list.count())]


def select(page: PresetsPageWidget, preset_id: str) -> None:
    for i in range(page.list.count()):
        if page.list.item(i).data(256) == preset_id:  # Qt.UserRole
            page.list.setCurrentRow(i)
            return
    raise AssertionError(f"{preset_id} is not listed")


def fill(page: PresetsPageWidget, **values: str) -> None:
    for name, value in values.items():
        widget = getattr(page, name)
        if name == "prompt":
            widget.setPlainText(value)
        else:
            widget.setText(value)


def test_the_shipped_presets_are_listed_with_their_badge(page: PresetsPageWidget) -> None:
    listed = rows(page)
    assert len(listed) == 6 and all(row.endswith("· shipped") for row in listed)
    assert "Translate   /translate   · shipped" in listed
    select(page, "translate")
    assert page.edit_button.isEnabled() and not page.reset_button.isEnabled() and not page.delete_button.isEnabled()
    assert page.problems.isHidden()


def test_add_validates_inline_and_saves_only_when_valid(page: PresetsPageWidget, user_dir: Path) -> None:
    page.new_button.click()
    assert page.editor.isVisibleTo(page) and page.editor.title() == "New preset"
    fill(page, title="Make it a tweet", word="/Tweet!", prompt="Turn this into a tweet.")
    assert page.save_preset() is False
    error = page.editor_error.text()
    assert "Word: a lowercase letter" in error and "Prompt: the prompt needs {text}" in error
    assert not user_dir.exists() or list(user_dir.iterdir()) == []  # nothing written
    fill(page, word="translate", prompt="Turn this into a tweet:\n\n{text}")
    assert page.save_preset() is False and "/translate is already “Translate”" in page.editor_error.text()
    fill(page, word="tweet")
    page.save_button.click()
    assert not page.editor.isVisibleTo(page) and page.message.text() == "Saved /tweet."
    saved = tomllib.loads((user_dir / "tweet.toml").read_text(encoding="utf-8"))
    assert saved["word"] == "tweet" and saved["version"] == 1 and "{text}" in saved["prompt"]
    assert "Make it a tweet   /tweet   · yours" in rows(page) and page.selected_id() == "tweet"
    assert page.delete_button.isEnabled() and not page.reset_button.isEnabled()
    assert load_presets(user_dir).get("tweet").title == "Make it a tweet"


def test_editing_a_shipped_preset_overrides_it_until_reset(page: PresetsPageWidget, user_dir: Path) -> None:
    select(page, "rewrite")
    page.edit_button.click()
    assert page.title.text() == "Rewrite" and page.choices.text() == "clearer, shorter, more formal, friendlier"
    fill(page, choices="clearer, shorter, pirate", default_arg="louder")
    assert page.save_preset() is False and "default_arg 'louder' is not one of arg_choices" in page.editor_error.text()
    fill(page, default_arg="pirate", arg="")
    assert page.save_preset() is False and "{arg}" in page.editor_error.text()
    fill(page, arg="style")
    assert page.save_preset() is True
    rewrite = load_presets(user_dir).get("rewrite")
    # The shipped version 2, edited: version 3.
    assert not rewrite.shipped and rewrite.version == 3 and rewrite.arg_choices == ("clearer", "shorter", "pirate")
    assert "Rewrite   /rewrite   · yours, replaces the shipped one" in rows(page)
    assert page.reset_button.isEnabled() and not page.delete_button.isEnabled()
    assert page.delete_selected() is False  # a shipped one cannot be deleted, only reset
    page.reset_button.click()
    assert load_presets(user_dir).get("rewrite").shipped and not (user_dir / "rewrite.toml").exists()
    assert "Rewrite   /rewrite   · shipped" in rows(page)
    assert page.message.text() == "/rewrite is the shipped preset again."


def test_delete_asks_first(page: PresetsPageWidget, user_dir: Path) -> None:
    page.add_new()
    fill(page, title="Shout", word="shout", prompt="SHOUT THIS:\n{text}")
    assert page.save_preset()
    asked: list[str] = []
    page.confirm = lambda _parent, question: asked.append(question) or False  # type: ignore[func-returns-value]
    page.delete_button.click()
    assert asked == ["Delete your preset “Shout” (/shout)?"] and (user_dir / "shout.toml").exists()
    page.confirm = lambda _parent, _question: True
    page.delete_button.click()
    assert not (user_dir / "shout.toml").exists() and all("/shout" not in row for row in rows(page))


def test_problem_files_are_shown_at_the_top_as_plain_text(qtbot, settings_paths, user_dir: Path) -> None:  # type: ignore[no-untyped-def]
    user_dir.mkdir(parents=True)
    (user_dir / "broken.toml").write_bytes(b"\xff\xfe<b>not</b> toml")
    (user_dir / "bad-word.toml").write_text('id = "x"\nversion = 1\ntitle = "<i>X</i>"\nword = "Bad Word"\n'
                                            'prompt = "{text}"\n', encoding="utf-8")
    widget = PresetsPageWidget(settings_paths[0], user_dir)
    qtbot.addWidget(widget)
    text = widget.problems.text()
    assert not widget.problems.isHidden() and "broken.toml: is not UTF-8 text" in text and "bad-word.toml" in text
    assert widget.problems.textFormat().name == "PlainText" and len(rows(widget)) == 6


def test_the_system_prompt_is_saved_with_the_settings(qtbot, no_session_backend: Backend, tasks: Tasks,
                                                      monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    dialog = SettingsDialog(no_session_backend, tasks, page="prompts")
    qtbot.addWidget(dialog)
    assert dialog.current_page() == "prompts" and dialog.tabs.currentWidget() is dialog.prompts_page
    box = dialog.prompts_page.system_prompt
    box.setPlainText("x" * 5000)  # over the limit: pydantic's message, the field focused, nothing saved
    assert dialog.save() is False and "Your system prompt:" in dialog.error.text()
    assert load_settings()[0].agent.system_prompt == ""
    box.setPlainText("Answer in British English.\nBe brief.")
    with qtbot.waitSignal(dialog.saved, timeout=5_000) as blocker:
        dialog.buttons.button(QDialogButtonBox.StandardButton.Save).click()
    assert blocker.args[0] == {"agent"}
    assert load_settings()[0].agent.system_prompt == "Answer in British English.\nBe brief."
    assert no_session_backend.settings.agent.system_prompt == "Answer in British English.\nBe brief."

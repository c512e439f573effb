"""SettingsDialog: saving round-trips to the file, validation, models and servers, API keys, tools, start at login."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest
from keyring.backends import fail
from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractSpinBox,
    QCheckBox,
    QComboBox,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QKeySequenceEdit,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QTableWidget,
    QWidget,
)

from agents.providers import catalog
from agents.providers.spec import ModelSpec
from app.gui import autostart, settings_pages
from app.gui.backend import Backend
from app.gui.server_dialog import ServerFields
from app.gui.settings_dialog import SettingsDialog
from app.gui.tasks import Tasks
from app.secrets import KeyringSecretStore
from app.settings import load_settings
from tests.support.openai_server import OpenAIServer

KEY = "sk-test-5f0e8c1d9a7b"


@pytest.fixture
def dialog(qtbot, backend: Backend, tasks: Tasks) -> SettingsDialog:  # type: ignore[no-untyped-def]
    d = SettingsDialog(backend, tasks)
    qtbot.addWidget(d)
    return d


@pytest.fixture(autouse=True)
def xdg_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Start at login writes under this folder, never the user's ~/.config."""
    folder = tmp_path / "xdg-config"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(folder))
    return folder


def save(qtbot, dialog: SettingsDialog) -> set[str]:  # type: ignore[no-untyped-def]
    with qtbot.waitSignal(dialog.saved, timeout=5_000) as blocker:
        dialog.buttons.button(QDialogButtonBox.StandardButton.Save).click()
    assert not dialog.isVisible()
    return blocker.args[0]


def all_texts(root: QWidget) -> str:
    """Everything a widget tree shows or exposes: texts, items, tooltips, placeholders, accessible names."""
    texts = []
    for widget in [root, *root.findChildren(QWidget)]:
        for getter in ("text", "toPlainText", "currentText", "toolTip", "placeholderText", "accessibleName",
                       "windowTitle"):
            method = getattr(widget, getter, None)
            if callable(method):
                try:
                    texts.append(str(method()))
                except TypeError:
                    pass
        if isinstance(widget, QComboBox):
            texts += [widget.itemText(i) for i in range(widget.count())]
        if isinstance(widget, QTableWidget):
            texts += [widget.item(r, c).text() for r in range(widget.rowCount()) for c in range(widget.columnCount())
                      if widget.item(r, c) is not None]
    return "\n".join(texts)


def test_saved_settings_round_trip_through_the_file(qtbot, dialog: SettingsDialog, backend: Backend) -> None:
    dialog.set_page("indexing")
    page = dialog.indexing_page
    page.chunk_tokens.setValue(384)
    page.overlap_tokens.setValue(48)
    page.max_file_mb.setValue(12.5)
    page.exclude.setPlainText("*.log\n\n  drafts  \n")
    page.reconcile_minutes.setValue(5)
    page.watch_folders.setChecked(False)
    startup = dialog.startup_page
    startup.shortcut.setKeySequence(QKeySequence("Ctrl+Shift+K"))
    startup.prefill.setCurrentIndex(startup.prefill.findData("clipboard"))
    startup.keep_in_tray.setChecked(False)
    startup.notify.setChecked(False)
    dialog.appearance_page.theme.setCurrentIndex(dialog.appearance_page.theme.findData("dark"))

    changed = save(qtbot, dialog)

    assert changed == {"index", "desktop"}
    assert backend.settings.index.exclude == ["*.log", "drafts"]
    assert backend.settings.desktop.quick_ask_shortcut == "Ctrl+Shift+K"
    reloaded, _ = load_settings()
    assert reloaded.model_dump() == backend.settings.model_dump()
    assert (reloaded.index.chunk_tokens, reloaded.index.overlap_tokens, reloaded.index.max_file_mb) == (384, 48, 12.5)
    assert (reloaded.desktop.theme, reloaded.desktop.quick_ask_prefill, reloaded.desktop.keep_in_tray,
            reloaded.desktop.watch_folders) == ("dark", "clipboard", False, False)


def test_a_cleared_shortcut_is_saved_as_none(qtbot, dialog: SettingsDialog, backend: Backend) -> None:
    assert dialog.startup_page.shortcut_text() == "Ctrl+Alt+Space"
    dialog.startup_page.shortcut.clear()
    assert save(qtbot, dialog) == {"desktop"}
    assert load_settings()[0].desktop.quick_ask_shortcut == ""


def test_an_invalid_value_shows_an_error_and_leaves_the_file_alone(qtbot, dialog: SettingsDialog,
                                                                   backend: Backend) -> None:
    backend.save_settings()
    before = backend.paths.settings_file.read_bytes()
    dialog.set_page("appearance")
    dialog.indexing_page.chunk_tokens.setValue(1000)
    dialog.startup_page.notify.setChecked(False)
    fired: list[object] = []
    dialog.saved.connect(fired.append)

    assert dialog.save() is False

    assert "Chunk size" in dialog.error.text() and "512" in dialog.error.text()
    assert not dialog.error.isHidden()
    assert dialog.current_page() == "indexing"  # the page of the field the error is about
    assert backend.paths.settings_file.read_bytes() == before and not fired
    assert backend.settings.index.chunk_tokens == 256 and backend.settings.desktop.notify_index_done
    assert dialog.indexing_page.chunk_tokens.value() == 1000  # nothing the user typed is lost
    assert not dialog.startup_page.notify.isChecked()

    dialog.indexing_page.chunk_tokens.setValue(512)
    assert save(qtbot, dialog) == {"index", "desktop"}
    assert load_settings()[0].index.chunk_tokens == 512


def test_the_page_argument_selects_the_tab(qtbot, backend: Backend, tasks: Tasks) -> None:
    d = SettingsDialog(backend, tasks, page="tools")
    qtbot.addWidget(d)
    assert d.current_page() == "tools" and d.tabs.currentWidget() is d.tools_page


def mnemonic(text: str) -> str | None:
    found = re.search(r"&([^&])", text)
    return found.group(1).lower() if found else None


def test_every_field_has_an_accessible_name_and_a_mnemonic_of_its_own(dialog: SettingsDialog) -> None:
    kinds = (QLineEdit, QAbstractSpinBox, QComboBox, QCheckBox, QKeySequenceEdit, QPlainTextEdit, QTableWidget)
    inner = (QAbstractSpinBox, QComboBox, QKeySequenceEdit)  # their own line edits are parts, not fields
    fields = [w for w in dialog.findChildren(QWidget)
              if isinstance(w, kinds) and not isinstance(w.parentWidget(), inner)]
    assert len(fields) >= 19  # models 5, indexing 6, tools 2, startup 5, appearance 1
    assert [type(w).__name__ for w in fields if not w.accessibleName()] == []
    tabs = [mnemonic(dialog.tabs.tabText(i)) for i in range(dialog.tabs.count())]
    assert None not in tabs
    for name, page in dialog.pages.items():
        letters = list(tabs)
        for form in page.findChildren(QFormLayout):
            for row in range(form.rowCount()):
                label = form.itemAt(row, QFormLayout.ItemRole.LabelRole)
                if label is not None and isinstance(label.widget(), QLabel):
                    assert label.widget().buddy() is not None, label.widget().text()
                    letters.append(mnemonic(label.widget().text()))
        letters += [mnemonic(b.text()) for b in page.findChildren(QAbstractButton) if b.text()]
        assert None not in letters, name
        assert len(letters) == len(set(letters)), (name, letters)


def test_tool_policies_are_saved(qtbot, dialog: SettingsDialog) -> None:
    combos = dialog.tools_page.combos
    assert set(combos) >= {"write_note", "open_path"} and combos["write_note"].currentData() == "ask"
    combos["write_note"].setCurrentIndex(combos["write_note"].findData("always"))
    combos["open_path"].setCurrentIndex(combos["open_path"].findData("never"))
    assert save(qtbot, dialog) == {"agent"}
    approvals = load_settings()[0].agent.approvals
    assert approvals["write_note"] == "always" and approvals["open_path"] == "never"


def test_adding_a_server_validates_the_url_and_upserts_models_toml(qtbot, dialog: SettingsDialog,
                                                                   backend: Backend) -> None:
    page = dialog.models_page
    page.add_server_button.click()
    server = page.server_dialog
    assert server is not None and server.isVisible()
    server.name_edit.setText("lab")
    server.url_edit.setText("localhost:11434/v1")
    server.model_edit.setText("m1")
    server.buttons.button(QDialogButtonBox.StandardButton.Ok).click()
    qtbot.waitUntil(lambda: not server.error.isHidden(), timeout=10_000)
    assert "not a server address" in server.error.text() and server.isVisible()
    assert not backend.paths.models_catalog.exists()

    server.url_edit.setText("http://127.0.0.1:11434/v1/")
    server.size_combo.setCurrentText("large")
    with qtbot.waitSignal(page.catalog_changed, timeout=10_000):
        server.buttons.button(QDialogButtonBox.StandardButton.Ok).click()
    assert not server.isVisible()
    specs = {s.name: s for s in catalog.load(backend.paths.models_catalog)}
    assert specs["lab/m1"].base_url == "http://127.0.0.1:11434/v1" and specs["lab/m1"].size == "large"
    assert "lab/m1" in all_texts(page.table) and page.large_combo.findText("lab/m1") >= 0
    assert page.keys.key_name.currentText() == "lab"

    page.add_server(ServerFields("lab", "http://127.0.0.1:8080/v1", "m1", "small", "fast", 4096))
    qtbot.waitUntil(lambda: catalog.load(backend.paths.models_catalog)[0].context_length == 4096, timeout=10_000)
    assert len(catalog.load(backend.paths.models_catalog)) == 1  # replaced, not added twice

    page.large_combo.setCurrentText("lab/m1")
    changed = save(qtbot, dialog)
    assert changed == {"models"} and load_settings()[0].models.large == "lab/m1"


def test_cancel_after_a_catalogue_change_still_reports_models(qtbot, dialog: SettingsDialog) -> None:
    page = dialog.models_page
    with qtbot.waitSignal(page.catalog_changed, timeout=10_000):
        page.add_server(ServerFields("lab", "http://127.0.0.1:9/v1", "x"))
    with qtbot.waitSignal(dialog.saved, timeout=5_000) as blocker:
        dialog.buttons.button(QDialogButtonBox.StandardButton.Cancel).click()
    assert blocker.args[0] == {"models"}


def test_a_folder_that_is_not_a_model_shows_an_error(qtbot, dialog: SettingsDialog, backend: Backend,
                                                     tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    empty = tmp_path / "not-a-model"
    empty.mkdir()
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", staticmethod(lambda *args, **kwargs: str(empty)))
    page = dialog.models_page
    page.add_folder_button.click()
    qtbot.waitUntil(lambda: "genai_config.json" in page.model_message.text(), timeout=30_000)
    assert page.model_message.styleSheet()  # shown as an error
    assert page.add_folder_button.isEnabled()
    assert not backend.paths.models_catalog.exists()


def test_a_model_folder_is_loaded_then_added(qtbot, dialog: SettingsDialog, backend: Backend,
                                             installed_default_model: Path) -> None:
    page = dialog.models_page
    with qtbot.waitSignal(page.catalog_changed, timeout=60_000):
        page.add_model_folder(installed_default_model, "local/my-smol")
    spec = {s.name: s for s in catalog.load(backend.paths.models_catalog)}["local/my-smol"]
    assert spec.kind == "onnx" and spec.path == installed_default_model.resolve()
    assert page.selected_spec() == spec and page.default_combo.findText("local/my-smol") >= 0


def test_a_key_is_stored_and_deleted_and_never_shown(qtbot, dialog: SettingsDialog, backend: Backend,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    keys = dialog.models_page.keys
    keys.key_name.setCurrentText("lab")
    keys.key_edit.setText(KEY)
    assert keys.key_edit.echoMode() == QLineEdit.EchoMode.Password
    keys.store_button.click()
    qtbot.waitUntil(lambda: "Stored the key 'lab'" in keys.status.text(), timeout=5_000)
    assert backend.secrets.get("lab") == KEY
    assert keys.key_edit.text() == "" and KEY not in all_texts(dialog)

    keys.delete_button.click()
    qtbot.waitUntil(lambda: "Deleted the key 'lab'" in keys.status.text(), timeout=5_000)
    assert backend.secrets.get("lab") is None
    keys.delete_button.click()
    qtbot.waitUntil(lambda: "No key named 'lab'" in keys.status.text(), timeout=5_000)
    assert KEY not in all_texts(dialog) and KEY not in caplog.text


def test_no_keychain_says_what_to_start(qtbot, dialog: SettingsDialog, backend: Backend) -> None:
    backend.secrets = KeyringSecretStore(backend=fail.Keyring())
    keys = dialog.models_page.keys
    keys.key_name.setCurrentText("lab")
    keys.key_edit.setText(KEY)
    keys.store_button.click()
    qtbot.waitUntil(lambda: "No OS keychain" in keys.status.text(), timeout=5_000)
    assert "Secret Service" in keys.status.text() and KEY not in keys.status.text()
    assert keys.store_button.isEnabled()


def test_test_connection_shows_the_status_detail_and_device(qtbot, backend: Backend, tasks: Tasks) -> None:
    catalog.upsert(backend.paths.models_catalog, ModelSpec(name="fake/scripted", kind="fake"))
    d = SettingsDialog(backend, tasks)
    qtbot.addWidget(d)
    page = d.models_page
    page.select("fake/scripted")
    assert page.default_combo.currentText() == "fake/scripted"
    page.test_button.click()
    qtbot.waitUntil(lambda: "ready" in page.test_status.text(), timeout=10_000)
    assert page.test_status.text().startswith("fake/scripted: ready, runs on fake")


def test_test_connection_reports_an_unreachable_server(qtbot, dialog: SettingsDialog) -> None:
    page = dialog.models_page
    with OpenAIServer(model="m1") as live:
        with qtbot.waitSignal(page.catalog_changed, timeout=10_000):
            page.add_server(ServerFields("lab", live.base_url, "m1"))
        page.test_button.click()
        qtbot.waitUntil(lambda: "lab/m1:" in page.test_status.text(), timeout=15_000)
        assert "ready, runs on remote" in page.test_status.text()
    with qtbot.waitSignal(page.catalog_changed, timeout=10_000):
        page.add_server(ServerFields("gone", "http://127.0.0.1:9/v1", "x"))
    page.test_button.click()
    qtbot.waitUntil(lambda: "gone/x: unreachable" in page.test_status.text(), timeout=15_000)


def test_start_at_login_writes_and_removes_the_autostart_entry(qtbot, backend: Backend, tasks: Tasks,
                                                               xdg_config: Path) -> None:
    entry = xdg_config / "autostart" / "deskmate.desktop"
    first = SettingsDialog(backend, tasks, page="startup")
    qtbot.addWidget(first)
    assert first.startup_page.start_at_login.isEnabled()
    first.startup_page.start_at_login.setChecked(True)
    assert save(qtbot, first) == {"desktop"}
    text = entry.read_text(encoding="utf-8")
    assert "[Desktop Entry]" in text and "--minimized" in text.split("Exec=", 1)[1].splitlines()[0]
    assert load_settings()[0].desktop.start_at_login

    second = SettingsDialog(backend, tasks, page="startup")
    qtbot.addWidget(second)
    assert second.startup_page.start_at_login.isChecked()
    second.startup_page.start_at_login.setChecked(False)
    save(qtbot, second)
    assert not entry.exists() and not load_settings()[0].desktop.start_at_login


def test_start_at_login_is_disabled_with_the_reason_where_unsupported(qtbot, backend: Backend, tasks: Tasks,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(settings_pages, "autostart_supported",
                        lambda: (False, "Starting at login is not built yet for macOS."))
    d = SettingsDialog(backend, tasks, page="startup")
    qtbot.addWidget(d)
    box = d.startup_page.start_at_login
    assert not box.isEnabled() and "not built yet for macOS" in box.toolTip()


def test_autostart_platforms_and_exec_quoting(monkeypatch: pytest.MonkeyPatch) -> None:
    assert autostart.autostart_supported() == (True, "")
    with monkeypatch.context() as patch:
        patch.setattr(autostart.sys, "platform", "win32")
        supported, why = autostart.autostart_supported()
    assert not supported and "not built yet for Windows" in why
    line = autostart.desktop_entry(["/opt/my apps/deskmate", "--minimized"]).split("Exec=", 1)[1].splitlines()[0]
    assert line == '"/opt/my apps/deskmate" --minimized'


def test_keyboard_focus_moves_top_to_bottom(qtbot, dialog: SettingsDialog) -> None:
    dialog.show()
    dialog.set_page("indexing")
    page = dialog.indexing_page
    page.max_file_mb.setFocus()
    qtbot.waitUntil(page.max_file_mb.hasFocus)
    seen = []
    for _ in range(len(page.tab_order) - 1):
        qtbot.keyClick(QWidget.focusWidget(dialog) or dialog, Qt.Key.Key_Tab)
        seen.append(dialog.focusWidget())
    assert seen == page.tab_order[1:]

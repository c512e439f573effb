"""The Prompts page of the settings dialog: the user's own system prompt and the action presets (list, edit, reset).

The system prompt is a setting like any other: written into the dump (``apply``) and saved with the dialog. The
presets are files (agents/presets.py): each is written when its editor's "Save preset" is pressed, and only once
``Preset`` accepts it (a bad word, a prompt without ``{text}`` is said under the editor and nothing is written);
reset and delete act at once too, as adding a model folder does on the Models page.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from agents.presets import Preset, Presets, load_presets, reset_user_preset, save_user_preset
from app.gui.messages import message_label, set_message
from app.gui.tasks import describe
from app.settings import AppSettings

FIELD_NAMES = {"title": "Title", "word": "Word", "prompt": "Prompt", "arg": "Argument name",
               "default_arg": "Default argument", "arg_choices": "Choices", "description": "Description",
               "id": "Word", "version": "Version"}
WORD_RULE = "a lowercase letter, then up to 31 lowercase letters, digits or hyphens (no slash, no spaces)"


def badge(preset: Preset, shipped_ids: set[str]) -> str:
    if preset.shipped:
        return "shipped"
    return "yours, replaces the shipped one" if preset.id in shipped_ids else "yours"


def explain(exc: ValidationError) -> str:
    """Pydantic's complaints about a preset, one line per field, in the words of the form."""
    lines = []
    for error in exc.errors():
        field = str(error["loc"][0]) if error["loc"] else ""
        message = str(error["msg"]).removeprefix("Value error, ")
        if error["type"] == "string_pattern_mismatch":
            message = WORD_RULE if field in ("word", "id") else "a lowercase name such as language or style"
        lines.append(f"{FIELD_NAMES.get(field, 'Preset')}: {message}")
    return "\n".join(dict.fromkeys(lines))


def confirm_with_box(parent: QWidget, question: str) -> bool:
    answer = QMessageBox.question(parent, "Delete preset", question)
    return answer == QMessageBox.StandardButton.Yes


class PresetsPageWidget(QWidget):
    """``presets_changed()`` after a preset file was written or removed."""

    presets_changed = Signal()

    def __init__(self, settings: AppSettings, user_dir: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.user_dir = user_dir
        self.confirm: Callable[[QWidget, str], bool] = confirm_with_box  # tests answer for the user
        self.presets = Presets({})
        self.shipped_ids: set[str] = set()
        self.editing: Preset | None = None  # the preset in the editor; None: a new one (or the editor is closed)
        outer = QVBoxLayout(self)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        outer.addWidget(scroll)
        body = QWidget()
        scroll.setWidget(body)
        layout = QVBoxLayout(body)
        self.problems = message_label("Problems with your preset files")
        self.problems.setTextFormat(Qt.TextFormat.PlainText)  # file names and TOML errors are the user's text
        layout.addWidget(self.problems)

        self.system_prompt = QPlainTextEdit(settings.agent.system_prompt)
        self.system_prompt.setAccessibleName("Your system prompt")
        self.system_prompt.setPlaceholderText("Added to every answer, e.g. “Answer in British English. Be brief.”")
        self.system_prompt.setTabChangesFocus(True)
        self.system_prompt.setMaximumHeight(96)
        self.list = QListWidget()
        self.list.setAccessibleName("Prompt presets")
        self.list.currentItemChanged.connect(lambda *_: self._update_buttons())
        self.list.itemActivated.connect(lambda *_: self.edit_selected())
        form = QFormLayout()
        form.addRow("S&ystem prompt:", self.system_prompt)
        form.addRow("Pre&sets:", self.list)
        layout.addLayout(form)
        note = QLabel("The system prompt is saved with Save; each preset as soon as you save it.")
        note.setWordWrap(True)
        layout.addWidget(note)

        buttons = QHBoxLayout()
        self.new_button = QPushButton("&New preset")
        self.new_button.clicked.connect(self.add_new)
        self.edit_button = QPushButton("&Edit")
        self.edit_button.clicked.connect(self.edit_selected)
        self.reset_button = QPushButton("&Reset to shipped")
        self.reset_button.clicked.connect(self.reset_selected)
        self.delete_button = QPushButton("&Delete")
        self.delete_button.clicked.connect(self.delete_selected)
        for button in (self.new_button, self.edit_button, self.reset_button, self.delete_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        layout.addLayout(buttons)
        self.message = message_label("Preset message")
        self.message.setTextFormat(Qt.TextFormat.PlainText)
        layout.addWidget(self.message)
        self._build_editor(layout)
        layout.addStretch(1)

        self.fields: dict[str, QWidget] = {"agent.system_prompt": self.system_prompt}
        self.tab_order: list[QWidget] = [
            self.system_prompt, self.list, self.new_button, self.edit_button, self.reset_button, self.delete_button,
            self.title, self.word, self.prompt, self.uses_files, self.arg, self.default_arg, self.choices,
            self.description, self.save_button, self.discard_button,
        ]
        self.reload()

    def _build_editor(self, layout: QVBoxLayout) -> None:
        self.editor = QGroupBox("Preset")
        self.editor.setAccessibleName("Preset editor")
        self.title = self._line("Title", "Translate")
        self.word = self._line("Word", "translate   (then /translate in quick ask and chat)")
        self.prompt = QPlainTextEdit()
        self.prompt.setAccessibleName("Prompt text")
        self.prompt.setPlaceholderText("Translate the text below into {arg}.\n\n{text}")
        self.prompt.setTabChangesFocus(True)
        self.uses_files = QCheckBox("&Uses your files (may look things up in the index)")
        self.uses_files.setAccessibleName("Uses your files")
        self.arg = self._line("Argument name", "language   (empty: no argument; the prompt then has no {arg})")
        self.default_arg = self._line("Default argument", "English")
        self.choices = self._line("Choices", "clearer, shorter   (empty: any value may be typed)")
        self.description = self._line("Description", "What it does, in a few words")
        self.editor_error = message_label("Preset error")
        self.editor_error.setTextFormat(Qt.TextFormat.PlainText)
        self.save_button = QPushButton("Sa&ve preset")
        self.save_button.clicked.connect(self.save_preset)
        self.discard_button = QPushButton("Dis&card")
        self.discard_button.clicked.connect(self.close_editor)
        form = QFormLayout(self.editor)
        form.addRow("Tit&le:", self.title)
        form.addRow("&Word:", self.word)
        form.addRow("Prompt te&xt:", self.prompt)
        form.addRow(self.uses_files)
        form.addRow("Ar&gument name:", self.arg)
        form.addRow("De&fault argument:", self.default_arg)
        form.addRow("C&hoices:", self.choices)
        form.addRow("Descripti&on:", self.description)
        form.addRow(self.editor_error)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.discard_button)
        row.addWidget(self.save_button)
        form.addRow(row)
        self.editor.setVisible(False)
        layout.addWidget(self.editor)

    @staticmethod
    def _line(name: str, placeholder: str) -> QLineEdit:
        edit = QLineEdit()
        edit.setAccessibleName(name)
        edit.setPlaceholderText(placeholder)
        return edit

    # -- the list -----------------------------------------------------------------------------------------------

    def reload(self, select: str | None = None) -> None:
        """Read the presets again and show them; ``select`` is the id to select (else the current one stays)."""
        current = select or self.selected_id()
        try:
            self.shipped_ids = set(load_presets(None).by_id)
            self.presets = load_presets(self.user_dir)
        except Exception as exc:  # a broken install: say so, keep the page usable for the system prompt
            self.presets = Presets({}, [f"The presets could not be read: {describe(exc)}"])
        problems = self.presets.problems
        set_message(self.problems, ("Some of your preset files cannot be used:\n" + "\n".join(problems))
                    if problems else "", error=True)
        self.list.clear()
        for preset in self.presets:
            item = QListWidgetItem(f"{preset.title}   /{preset.word}   · {badge(preset, self.shipped_ids)}")
            item.setData(Qt.ItemDataRole.UserRole, preset.id)
            item.setToolTip(preset.description or preset.title)
            self.list.addItem(item)
            if preset.id == current:
                self.list.setCurrentItem(item)
        if self.list.currentItem() is None and self.list.count():
            self.list.setCurrentRow(0)
        self._update_buttons()

    def selected_id(self) -> str | None:
        item = self.list.currentItem()
        return str(item.data(Qt.ItemDataRole.UserRole)) if item is not None else None

    def selected(self) -> Preset | None:
        found = self.selected_id()
        return self.presets.by_id.get(found) if found else None

    def _update_buttons(self) -> None:
        preset = self.selected()
        mine = preset is not None and not preset.shipped
        self.edit_button.setEnabled(preset is not None)
        self.reset_button.setEnabled(mine and preset is not None and preset.id in self.shipped_ids)
        self.delete_button.setEnabled(mine and preset is not None and preset.id not in self.shipped_ids)

    def reset_selected(self) -> bool:
        preset = self.selected()
        if preset is None or preset.shipped or preset.id not in self.shipped_ids:
            return False
        return self._remove(preset, f"/{preset.word} is the shipped preset again.")

    def delete_selected(self) -> bool:
        preset = self.selected()
        if preset is None or preset.shipped or preset.id in self.shipped_ids:
            return False
        if not self.confirm(self, f"Delete your preset “{preset.title}” (/{preset.word})?"):
            return False
        return self._remove(preset, f"Deleted /{preset.word}.")

    def _remove(self, preset: Preset, done: str) -> bool:
        try:
            reset_user_preset(self.user_dir, preset.id)
        except OSError as exc:
            set_message(self.message, f"Could not change {preset.title}: {describe(exc)}", error=True)
            return False
        if self.editing is not None and self.editing.id == preset.id:
            self.close_editor()
        self.reload(select=preset.id)
        set_message(self.message, done)
        self.presets_changed.emit()
        return True

    # -- the editor ---------------------------------------------------------------------------------------------

    def add_new(self) -> None:
        self._open_editor(None)

    def edit_selected(self) -> None:
        preset = self.selected()
        if preset is not None:
            self._open_editor(preset)

    def _open_editor(self, preset: Preset | None) -> None:
        self.editing = preset
        self.editor.setTitle(f"Preset {preset.id} (version {preset.version})" if preset else "New preset")
        self.title.setText(preset.title if preset else "")
        self.word.setText(preset.word if preset else "")
        self.prompt.setPlainText(preset.prompt if preset else "")
        self.uses_files.setChecked(preset.uses_files if preset else False)
        self.arg.setText(preset.arg or "" if preset else "")
        self.default_arg.setText(preset.default_arg or "" if preset else "")
        self.choices.setText(", ".join(preset.arg_choices) if preset else "")
        self.description.setText(preset.description if preset else "")
        set_message(self.editor_error, "")
        self.editor.setVisible(True)
        self.title.setFocus()

    def close_editor(self) -> None:
        self.editing = None
        set_message(self.editor_error, "")
        self.editor.setVisible(False)

    def edited_preset(self) -> Preset:
        """The editor's preset, validated by ``Preset`` (ValidationError); a word another preset has is refused."""
        word = self.word.text().strip().lstrip("/").strip()
        editing = self.editing
        data: dict[str, Any] = {
            "id": editing.id if editing else self._new_id(word),
            "version": editing.version + 1 if editing else 1,
            "title": self.title.text().strip(),
            "word": word,
            "prompt": self.prompt.toPlainText().strip(),
            "uses_files": self.uses_files.isChecked(),
            "arg": self.arg.text().strip() or None,
            "default_arg": self.default_arg.text().strip() or None,
            "arg_choices": tuple(c.strip() for c in self.choices.text().split(",") if c.strip()),
            "description": self.description.text().strip(),
        }
        return Preset.model_validate(data)

    def _new_id(self, word: str) -> str:
        """The word as the id, numbered when another preset already has that id."""
        found, number = word, 2
        while found in self.presets.by_id or found in self.shipped_ids:
            found = f"{word[:28]}-{number}"
            number += 1
        return found

    def save_preset(self) -> bool:
        """Validate and write the editor's preset; False, with the reasons under the editor, when it is not valid."""
        try:
            preset = self.edited_preset()
        except ValidationError as exc:
            set_message(self.editor_error, explain(exc), error=True)
            return False
        clash = next((p for p in self.presets if p.word == preset.word and p.id != preset.id), None)
        if clash is not None:
            set_message(self.editor_error, f"Word: /{preset.word} is already “{clash.title}”; choose another word.",
                        error=True)
            self.word.setFocus()
            return False
        try:
            save_user_preset(self.user_dir, preset)
        except OSError as exc:
            set_message(self.editor_error, f"Could not save the preset: {describe(exc)}", error=True)
            return False
        self.close_editor()
        self.reload(select=preset.id)
        set_message(self.message, f"Saved /{preset.word}.")
        self.presets_changed.emit()
        return True

    # -- the settings dialog ------------------------------------------------------------------------------------

    def apply(self, data: dict[str, Any]) -> None:
        data["agent"]["system_prompt"] = self.system_prompt.toPlainText().strip()

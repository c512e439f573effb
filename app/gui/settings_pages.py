"""The plain pages of the settings dialog: indexing, tool approvals, quick ask and startup, appearance.

Each page shows one AppSettings and writes its fields back into a dump of it (``apply``); it never validates:
the dialog validates the whole dump with pydantic, so the limits live in one place (app/settings.py). That is also
why the spin boxes only refuse what is meaningless (negative numbers): an out-of-range value gets pydantic's message.
``fields`` maps a setting's dotted path to its widget, so the dialog can point at the field an error is about.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QKeySequenceEdit,
    QLabel,
    QPlainTextEdit,
    QSpinBox,
    QWidget,
)

from app.gui.autostart import autostart_supported
from app.settings import AppSettings

TOOL_LABELS = {"write_note": "&Write notes", "open_path": "&Open files and web addresses",
               "remember": "&Remember facts", "forget": "&Forget remembered facts"}
APPROVALS = (("Ask", "ask"), ("Always allow", "always"), ("Never", "never"))
PREFILLS = (("Nothing", "none"), ("The selected text", "selection"), ("The clipboard", "clipboard"))
THEMES = (("System", "system"), ("Light", "light"), ("Dark", "dark"))


def choice_combo(name: str, choices: tuple[tuple[str, str], ...], current: str) -> QComboBox:
    """A combo showing words and holding the settings' values as item data."""
    combo = QComboBox()
    combo.setAccessibleName(name)
    for text, value in choices:
        combo.addItem(text, value)
    index = combo.findData(current)
    combo.setCurrentIndex(max(index, 0))
    return combo


def _spin(name: str, value: int, maximum: int, suffix: str = "") -> QSpinBox:
    spin = QSpinBox()
    spin.setRange(0, maximum)
    spin.setValue(value)
    spin.setSuffix(suffix)
    spin.setAccessibleName(name)
    return spin


def _double_spin(name: str, value: float, maximum: float, suffix: str) -> QDoubleSpinBox:
    spin = QDoubleSpinBox()
    spin.setRange(0.0, maximum)
    spin.setDecimals(1)
    spin.setValue(value)
    spin.setSuffix(suffix)
    spin.setAccessibleName(name)
    return spin


def _check(text: str, name: str, checked: bool) -> QCheckBox:
    box = QCheckBox(text)
    box.setChecked(checked)
    box.setAccessibleName(name)
    return box


class IndexingPageWidget(QWidget):
    def __init__(self, settings: AppSettings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        index = settings.index
        self.max_file_mb = _double_spin("Maximum file size", index.max_file_mb, 1_000_000.0, " MB")
        self.chunk_tokens = _spin("Chunk size", index.chunk_tokens, 100_000, " tokens")
        self.overlap_tokens = _spin("Chunk overlap", index.overlap_tokens, 100_000, " tokens")
        self.exclude = QPlainTextEdit("\n".join(index.exclude))
        self.exclude.setAccessibleName("Excluded names, one glob per line")
        self.exclude.setPlaceholderText("*.log\ndrafts\n(one glob per line, added to the usual ones)")
        self.exclude.setTabChangesFocus(True)  # Tab moves on, as in every other field
        self.reconcile_minutes = _double_spin("Reconcile interval", index.reconcile_minutes, 100_000.0, " min")
        self.watch_folders = _check("&Watch the folders while Deskmate runs", "Watch folders",
                                    settings.desktop.watch_folders)
        form = QFormLayout(self)
        form.addRow("Ma&x file size:", self.max_file_mb)
        form.addRow("&Chunk size:", self.chunk_tokens)
        form.addRow("O&verlap:", self.overlap_tokens)
        form.addRow("&Exclude:", self.exclude)
        form.addRow("&Reconcile every:", self.reconcile_minutes)
        form.addRow(self.watch_folders)
        self.fields: dict[str, QWidget] = {
            "index.max_file_mb": self.max_file_mb, "index.chunk_tokens": self.chunk_tokens,
            "index.overlap_tokens": self.overlap_tokens, "index.exclude": self.exclude,
            "index.reconcile_minutes": self.reconcile_minutes, "desktop.watch_folders": self.watch_folders,
        }
        self.tab_order = list(self.fields.values())

    def apply(self, data: dict[str, Any]) -> None:
        index = data["index"]
        index["max_file_mb"] = self.max_file_mb.value()
        index["chunk_tokens"] = self.chunk_tokens.value()
        index["overlap_tokens"] = self.overlap_tokens.value()
        index["exclude"] = [line.strip() for line in self.exclude.toPlainText().splitlines() if line.strip()]
        index["reconcile_minutes"] = self.reconcile_minutes.value()
        data["desktop"]["watch_folders"] = self.watch_folders.isChecked()


class ToolsPageWidget(QWidget):
    """One Ask / Always allow / Never choice per tool with side effects."""

    def __init__(self, settings: AppSettings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        approvals = settings.agent.approvals
        present = {"write_note", "open_path", *approvals}  # the defaults, even if the file dropped them
        ordered = [t for t in TOOL_LABELS if t in present] + sorted(present - set(TOOL_LABELS))
        form = QFormLayout(self)
        intro = QLabel("What the assistant may do when it decides to: ask you each time, always, or never.")
        intro.setWordWrap(True)
        form.addRow(intro)
        self.combos: dict[str, QComboBox] = {}
        for tool in ordered:
            label = TOOL_LABELS.get(tool, tool)
            combo = choice_combo(f"{label.replace('&', '')} (tool {tool})", APPROVALS, approvals.get(tool, "ask"))
            form.addRow(f"{label}:", combo)
            self.combos[tool] = combo
        self.fields: dict[str, QWidget] = {f"agent.approvals.{t}": c for t, c in self.combos.items()}
        self.tab_order = list(self.fields.values())

    def apply(self, data: dict[str, Any]) -> None:
        for tool, combo in self.combos.items():
            data["agent"]["approvals"][tool] = combo.currentData()


class StartupPageWidget(QWidget):
    def __init__(self, settings: AppSettings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        desktop = settings.desktop
        self.shortcut = QKeySequenceEdit(QKeySequence.fromString(desktop.quick_ask_shortcut,
                                                                 QKeySequence.SequenceFormat.PortableText))
        self.shortcut.setMaximumSequenceLength(1)  # a global shortcut is one chord, not an Emacs-style sequence
        self.shortcut.setClearButtonEnabled(True)
        self.shortcut.setAccessibleName("Quick ask shortcut")
        self.shortcut.setToolTip("Press the keys; clear it for no global shortcut.")
        self.prefill = choice_combo("Quick ask prefill", PREFILLS, desktop.quick_ask_prefill)
        self.keep_in_tray = _check("&Keep running in the tray when the window closes", "Keep running in the tray",
                                   desktop.keep_in_tray)
        self.start_at_login = _check("Start at &login (in the tray)", "Start at login", desktop.start_at_login)
        supported, why = autostart_supported()
        if not supported:
            self.start_at_login.setEnabled(False)
            self.start_at_login.setToolTip(why)
        self.notify = _check("&Notify when indexing ends", "Notify when indexing ends", desktop.notify_index_done)
        form = QFormLayout(self)
        form.addRow("&Shortcut:", self.shortcut)
        form.addRow("Pre&fill with:", self.prefill)  # p is the Prompts tab
        form.addRow(self.keep_in_tray)
        form.addRow(self.start_at_login)
        form.addRow(self.notify)
        self.fields: dict[str, QWidget] = {
            "desktop.quick_ask_shortcut": self.shortcut, "desktop.quick_ask_prefill": self.prefill,
            "desktop.keep_in_tray": self.keep_in_tray, "desktop.start_at_login": self.start_at_login,
            "desktop.notify_index_done": self.notify,
        }
        self.tab_order = list(self.fields.values())

    def shortcut_text(self) -> str:
        """The portable form ("Ctrl+Alt+Space") the tray's global shortcut parses; "" for none."""
        return self.shortcut.keySequence().toString(QKeySequence.SequenceFormat.PortableText)

    def apply(self, data: dict[str, Any]) -> None:
        desktop = data["desktop"]
        desktop["quick_ask_shortcut"] = self.shortcut_text()
        desktop["quick_ask_prefill"] = self.prefill.currentData()
        desktop["keep_in_tray"] = self.keep_in_tray.isChecked()
        desktop["start_at_login"] = self.start_at_login.isChecked()
        desktop["notify_index_done"] = self.notify.isChecked()


class AppearancePageWidget(QWidget):
    def __init__(self, settings: AppSettings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.theme = choice_combo("Theme", THEMES, settings.desktop.theme)
        form = QFormLayout(self)
        form.addRow("T&heme:", self.theme)
        self.fields: dict[str, QWidget] = {"desktop.theme": self.theme}
        self.tab_order = [self.theme]

    def apply(self, data: dict[str, Any]) -> None:
        data["desktop"]["theme"] = self.theme.currentData()

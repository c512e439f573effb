"""Themes: light and dark palettes (Fusion), or whichever the system prefers; and the contrast check they must pass."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication, QStyleFactory

Role = QPalette.ColorRole

# (role, light, dark): text pairs chosen for WCAG AA contrast (4.5:1) or better in both themes.
_COLOURS: list[tuple[QPalette.ColorRole, str, str]] = [
    (Role.Window, "#f4f4f5", "#1f2023"),
    (Role.WindowText, "#18181b", "#ececef"),
    (Role.Base, "#ffffff", "#16171a"),
    (Role.AlternateBase, "#eeeef0", "#25262a"),
    (Role.Text, "#18181b", "#ececef"),
    (Role.Button, "#e7e7ea", "#2c2d31"),
    (Role.ButtonText, "#18181b", "#ececef"),
    (Role.ToolTipBase, "#ffffdc", "#2c2d31"),
    (Role.ToolTipText, "#18181b", "#ececef"),
    (Role.PlaceholderText, "#5f5f68", "#a1a1aa"),
    (Role.Highlight, "#1d4ed8", "#3b82f6"),
    (Role.HighlightedText, "#ffffff", "#0b0b0d"),
    (Role.Link, "#1d4ed8", "#8ab4ff"),
    (Role.LinkVisited, "#6d28d9", "#c4a7ff"),
]

# Pairs of (foreground, background) roles a reader depends on; the tests check each pair's contrast.
TEXT_PAIRS = [(Role.WindowText, Role.Window), (Role.Text, Role.Base), (Role.ButtonText, Role.Button),
              (Role.ToolTipText, Role.ToolTipBase), (Role.HighlightedText, Role.Highlight), (Role.Link, Role.Base),
              (Role.PlaceholderText, Role.Base)]


def palette(dark: bool) -> QPalette:
    result = QPalette()
    for role, light_colour, dark_colour in _COLOURS:
        colour = QColor(dark_colour if dark else light_colour)
        result.setColor(QPalette.ColorGroup.Active, role, colour)
        result.setColor(QPalette.ColorGroup.Inactive, role, colour)
        disabled = QColor(colour)
        disabled.setAlphaF(0.55)
        result.setColor(QPalette.ColorGroup.Disabled, role, disabled)
    return result


def system_prefers_dark() -> bool:
    return QGuiApplication.styleHints().colorScheme() == Qt.ColorScheme.Dark


def apply_theme(app: QApplication, theme: str) -> bool:
    """Apply "light", "dark" or "system" to ``app``; returns whether the result is dark."""
    dark = system_prefers_dark() if theme == "system" else theme == "dark"
    style = QStyleFactory.create("Fusion")
    if style is not None:
        app.setStyle(style)
    app.setPalette(palette(dark))
    app.setProperty("deskmate_dark", dark)
    return dark


def is_dark(app: QApplication | None = None) -> bool:
    app = app or QApplication.instance()  # type: ignore[assignment]
    return bool(app.property("deskmate_dark")) if app is not None else False


def contrast(foreground: QColor, background: QColor) -> float:
    """The WCAG contrast ratio between two colours (1 to 21)."""

    def luminance(colour: QColor) -> float:
        def channel(value: float) -> float:
            return value / 12.92 if value <= 0.03928 else ((value + 0.055) / 1.055) ** 2.4

        return 0.2126 * channel(colour.redF()) + 0.7152 * channel(colour.greenF()) + 0.0722 * channel(colour.blueF())

    high, low = sorted((luminance(foreground), luminance(background)), reverse=True)
    return (high + 0.05) / (low + 0.05)

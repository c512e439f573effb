"""Markdown rendering of untrusted model output, the themes' contrast, and the shortcut parser."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QApplication

from app.gui import markdown
from app.gui.chat_view import AnswerBrowser
from app.gui.hotkey import GlobalHotkey, parse
from app.gui.theme import TEXT_PAIRS, apply_theme, contrast, is_dark, palette


def test_markdown_renders_tables_lists_code_and_citation_links() -> None:
    html = markdown.render("A list:\n\n- one\n- two\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n```python\nx = 1\n```\n"
                           "See [2].")
    assert "<li>one</li>" in html and "<table>" in html and "<td>1</td>" in html
    assert 'style="color' in html  # highlighted by pygments, inline
    assert '<a href="cite:2">[2]</a>' in html


def test_model_output_cannot_run_scripts_load_remote_content_or_link_to_files() -> None:
    html = markdown.render('<script>alert(1)</script><img src="http://x/y.png">\n\n![t](http://evil/p.png) '
                           "[a](javascript:alert(1)) [b](file:///etc/passwd) [c](https://example.org)")
    assert "<script" not in html and "<img" not in html and "&lt;script&gt;" in html
    assert "[image: t]" in html and "http://evil" not in html
    assert 'href="javascript' not in html and 'href="file:' not in html
    assert '<a href="https://example.org">c</a>' in html


def test_the_answer_view_fetches_nothing(qtbot) -> None:
    view = AnswerBrowser()
    qtbot.addWidget(view)
    view.set_markdown("![x](http://example.org/x.png)")
    assert view.loadResource(2, "http://example.org/x.png") is None
    assert view.openLinks() is False and view.openExternalLinks() is False


@pytest.mark.parametrize("dark", [False, True])
def test_both_themes_keep_text_readable(qtbot, dark: bool) -> None:
    colours = palette(dark)
    for foreground, background in TEXT_PAIRS:
        ratio = contrast(colours.color(foreground), colours.color(background))
        assert ratio >= 4.5, f"{foreground.name} on {background.name}: {ratio:.2f}"
    app = QApplication.instance()
    assert apply_theme(app, "dark" if dark else "light") is dark and is_dark(app) is dark  # type: ignore[arg-type]


def test_contrast_is_the_wcag_ratio() -> None:
    from PySide6.QtGui import QColor

    assert contrast(QColor("#000000"), QColor("#ffffff")) == pytest.approx(21.0)
    assert contrast(QColor("#777777"), QColor("#777777")) == pytest.approx(1.0)


def test_shortcut_parsing() -> None:
    assert parse("Ctrl+Alt+Space") == (["ControlMask", "Mod1Mask"], "space")
    assert parse("Meta+Shift+K") == (["Mod4Mask", "ShiftMask"], "k")
    with pytest.raises(ValueError, match="needs a modifier"):
        parse("K")
    with pytest.raises(ValueError, match="unknown modifier"):
        parse("Hyper+K")


def test_where_global_shortcuts_are_not_possible_the_message_says_what_to_do_instead() -> None:
    for platform in ("wayland", "offscreen"):
        result = GlobalHotkey(platform, lambda: None).register("Ctrl+Alt+Space")
        assert not result.ok and "deskmate --quick-ask" in result.message
    assert "Wayland" in GlobalHotkey("wayland", lambda: None).register("Ctrl+Alt+Space").message
    assert GlobalHotkey("offscreen", lambda: None).register("").ok  # no shortcut wanted: nothing to do

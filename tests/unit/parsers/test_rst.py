"""reStructuredText: section levels by adornment style, literal and code-block directives as code."""

from __future__ import annotations

from pathlib import Path

from tests.unit.parsers.helpers import assert_slice
from tools.index.parsers import parse_file

MANUAL = """\
==============
 Deskmate Manual
==============

Welcome to the manual.

Getting started
===============

Install it, then run::

    deskmate index ~/Documents

    deskmate ask "what changed?"

After the literal block.

Options
-------

.. code-block:: toml

   [index]
   roots = ["~/Documents"]

   [model]
   name = "local"

Advanced
~~~~~~~~

Deep text.

Troubleshooting
===============

.. note::

   Logs live in the data folder.
"""


def test_sections_and_code(tmp_path: Path) -> None:
    """Levels follow first appearance of each adornment; literal blocks and code directives stay whole."""
    path = tmp_path / "manual.rst"
    path.write_text(MANUAL, encoding="utf-8")
    document = parse_file(path)
    assert document.file_type == "rst"
    assert document.title == "Deskmate Manual"
    summary = [(block.kind, block.heading_path, block.text.strip().split("\n")[0]) for block in document.blocks]
    top = "Deskmate Manual"
    assert summary == [
        ("text", (top,), "Welcome to the manual."),
        ("text", (top, "Getting started"), "Install it, then run::"),
        ("code", (top, "Getting started"), "deskmate index ~/Documents"),
        ("text", (top, "Getting started"), "After the literal block."),
        ("code", (top, "Getting started", "Options"), ".. code-block:: toml"),
        ("text", (top, "Getting started", "Options", "Advanced"), "Deep text."),
        ("text", (top, "Troubleshooting"), ".. note::"),
        ("text", (top, "Troubleshooting"), "Logs live in the data folder."),
    ]
    literal = document.blocks[2]
    assert literal.text == '    deskmate index ~/Documents\n\n    deskmate ask "what changed?"'
    assert 'name = "local"' in document.blocks[4].text
    for block in document.blocks:
        assert_slice(MANUAL, block)


def test_title_falls_back_to_stem(tmp_path: Path) -> None:
    """Without any section title the file name is the title; short punctuation lines are not titles."""
    path = tmp_path / "loose-notes.rst"
    path.write_text("Just text.\n\nA + B\n\n- item\n", encoding="utf-8")
    document = parse_file(path)
    assert document.title == "loose-notes"
    assert [block.heading_path for block in document.blocks] == [(), (), ()]

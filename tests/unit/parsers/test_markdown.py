"""Markdown: heading paths from ATX and setext headings, fenced code kept whole, front matter skipped."""

from __future__ import annotations

from pathlib import Path

from tests.unit.parsers.helpers import assert_slice, texts
from tools.index.parsers import parse_file

GUIDE = """\
---
layout: post
title: "Front Matter Title"
---
# User Guide

Deskmate indexes your files.
It runs locally.

## Installation

Run the installer:

```bash
pip install deskmate

# the blank line above must not split this block
deskmate --help
```

### Linux notes
Use the AppImage.

Configuration
-------------

~~~
[settings]
## not a heading inside a fence
~~~

| key | meaning |
|-----|---------|
| a   | first   |

# Appendix

The end.
"""


def _parse(tmp_path: Path, source: str, name: str = "guide.md") -> tuple[str, list[object]]:
    path = tmp_path / name
    path.write_text(source, encoding="utf-8")
    document = parse_file(path)
    return document.title, list(document.blocks)


def test_structure_heading_paths_and_kinds(tmp_path: Path) -> None:
    """Every block carries the headings it sits under; heading lines are not blocks of their own."""
    path = tmp_path / "guide.md"
    path.write_text(GUIDE, encoding="utf-8")
    document = parse_file(path)
    assert document.file_type == "markdown"
    summary = [(block.kind, block.heading_path, block.text.split("\n")[0]) for block in document.blocks]
    assert summary == [
        ("text", ("User Guide",), "Deskmate indexes your files."),
        ("text", ("User Guide", "Installation"), "Run the installer:"),
        ("code", ("User Guide", "Installation"), "```bash"),
        ("text", ("User Guide", "Installation", "Linux notes"), "Use the AppImage."),
        ("code", ("User Guide", "Configuration"), "~~~"),
        ("table", ("User Guide", "Configuration"), "| key | meaning |"),
        ("text", ("Appendix",), "The end."),
    ]
    assert not any(block.text.lstrip().startswith("#") and block.kind == "text" for block in document.blocks)
    assert "layout" not in "".join(texts(document.blocks))


def test_fenced_code_is_one_block_with_exact_lines(tmp_path: Path) -> None:
    """A fence with blank lines inside stays one code block, and its line range is exactly the fence."""
    path = tmp_path / "guide.md"
    path.write_text(GUIDE, encoding="utf-8")
    code = [block for block in parse_file(path).blocks if block.kind == "code"]
    assert code[0].text == (
        "```bash\npip install deskmate\n\n# the blank line above must not split this block\ndeskmate --help\n```"
    )
    assert (code[0].line_start, code[0].line_end) == (14, 19)
    assert "## not a heading inside a fence" in code[1].text
    for block in parse_file(path).blocks:
        assert_slice(GUIDE, block)


def test_title_prefers_front_matter_then_h1_then_stem(tmp_path: Path) -> None:
    """Front matter title wins; without it the first H1; without that the file name."""
    assert _parse(tmp_path, GUIDE)[0] == "Front Matter Title"
    assert _parse(tmp_path, GUIDE.split("---\n", 2)[2])[0] == "User Guide"
    assert _parse(tmp_path, "## Only a subsection\n\ntext\n", "plain-notes.md")[0] == "plain-notes"
    assert _parse(tmp_path, "Big Title\n=========\n\nbody\n")[0] == "Big Title"


def test_atx_closing_hashes_and_levels_pop(tmp_path: Path) -> None:
    """Closing #s are not part of the heading, and a same-level heading replaces its sibling in the path."""
    source = "# A #\n\n## B ##\n\none\n\n## C\n\ntwo\n\n#### D\n\nthree\n\n# E\n\nfour\n"
    path = tmp_path / "levels.md"
    path.write_text(source, encoding="utf-8")
    paths = [(block.text, block.heading_path) for block in parse_file(path).blocks]
    assert paths == [
        ("one", ("A", "B")),
        ("two", ("A", "C")),
        ("three", ("A", "C", "D")),
        ("four", ("E",)),
    ]


def test_unclosed_fence_runs_to_the_end(tmp_path: Path) -> None:
    """An unclosed fence swallows the rest of the document as code, as CommonMark renders it."""
    source = "Intro\n\n```\ncode\n\n# not a heading\n\n"
    path = tmp_path / "open.md"
    path.write_text(source, encoding="utf-8")
    blocks = parse_file(path).blocks
    assert texts(blocks) == ["Intro", "```\ncode\n\n# not a heading"]
    assert blocks[1].kind == "code"
    assert blocks[1].heading_path == ()
    for block in blocks:
        assert_slice(source, block)


def test_thematic_break_is_not_text_and_unclosed_front_matter_is_not_skipped(tmp_path: Path) -> None:
    """A lone --- at the top without a closing line is a rule, and the text after it is kept."""
    source = "---\nNot front matter\n\n***\n\nAfter the rule\n"
    path = tmp_path / "rules.md"
    path.write_text(source, encoding="utf-8")
    assert texts(parse_file(path).blocks) == ["Not front matter", "After the rule"]

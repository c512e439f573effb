"""HTML: visible text only, heading paths from h1-h6, code from <pre>, one block per table."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.parsers.helpers import texts
from tools.index.document import ParseBudget, ParseError
from tools.index.parsers import parse_file

PAGE = """<!DOCTYPE html>
<html>
<head>
  <meta charset="utf-8">
  <title>  Deskmate   Help </title>
  <style>body { color: red; }</style>
  <script>var secret = "do not index";</script>
</head>
<body>
  <nav>Home</nav>
  <h1>Help <small>center</small></h1>
  <p>Deskmate answers   questions
     about <b>your</b> files.</p>
  <!-- an HTML comment -->
  <noscript>Enable JavaScript</noscript>
  <h2>Install</h2>
  <ul>
    <li>Download</li>
    <li>Run the installer<ul><li>Accept the licence</li></ul></li>
  </ul>
  <pre>
pip install deskmate
  deskmate --help</pre>
  <h2>Shortcuts</h2>
  <table>
    <caption>Keys</caption>
    <tr><th>Key</th><th>Action</th></tr>
    <tr><td>Ctrl+K</td><td>Quick ask</td></tr>
  </table>
  <div>Loose text<br>on two lines<template><p>hidden</p></template></div>
  <blockquote>Quoted advice</blockquote>
  <h3>Extra</h3>
  <p>Deep</p>
</body>
</html>
"""


def test_blocks_headings_code_and_tables(tmp_path: Path) -> None:
    """Scripts, styles, comments and templates vanish; the rest is blocks under their headings."""
    path = tmp_path / "help.html"
    path.write_text(PAGE, encoding="utf-8")
    document = parse_file(path)
    assert document.file_type == "html"
    assert document.title == "Deskmate Help"
    summary = [(block.kind, block.heading_path, block.text) for block in document.blocks]
    assert summary == [
        ("text", (), "Home"),
        ("text", ("Help center",), "Deskmate answers questions about your files."),
        ("text", ("Help center", "Install"), "Download"),
        ("text", ("Help center", "Install"), "Run the installer"),
        ("text", ("Help center", "Install"), "Accept the licence"),
        ("code", ("Help center", "Install"), "pip install deskmate\n  deskmate --help"),
        ("table", ("Help center", "Shortcuts"), "Keys\nKey | Action\nCtrl+K | Quick ask"),
        ("text", ("Help center", "Shortcuts"), "Loose text\non two lines"),
        ("text", ("Help center", "Shortcuts"), "Quoted advice"),
        ("text", ("Help center", "Shortcuts", "Extra"), "Deep"),
    ]
    joined = "\n".join(texts(document.blocks))
    for hidden in ("secret", "color", "comment", "JavaScript", "hidden"):
        assert hidden not in joined


def test_title_falls_back_to_h1_then_stem(tmp_path: Path) -> None:
    """Without <title> the first <h1> names the page; without either, the file name does."""
    with_h1 = tmp_path / "a.htm"
    with_h1.write_text("<h2>Minor</h2><h1>Main Heading</h1><p>x</p>", encoding="utf-8")
    assert parse_file(with_h1).title == "Main Heading"
    bare = tmp_path / "bare-page.html"
    bare.write_text("<p>just a paragraph</p>", encoding="utf-8")
    assert parse_file(bare).title == "bare-page"
    assert texts(parse_file(bare).blocks) == ["just a paragraph"]


def test_declared_charset_is_honoured(tmp_path: Path) -> None:
    """Legacy pages in a declared 8-bit charset decode by their <meta charset>, not as broken UTF-8."""
    path = tmp_path / "legacy.html"
    path.write_bytes('<meta charset="windows-1252"><p>Café – crème</p>'.encode("cp1252"))
    assert texts(parse_file(path).blocks) == ["Café – crème"]


def test_binary_and_budget(tmp_path: Path) -> None:
    """A binary file named .html and a page over the character budget are refused."""
    binary = tmp_path / "binary.html"
    binary.write_bytes(b"\x00\x01\x02<html>" * 100)
    with pytest.raises(ParseError, match="binary content"):
        parse_file(binary)
    big = tmp_path / "big.html"
    big.write_text("<p>" + "word " * 100 + "</p>", encoding="utf-8")
    with pytest.raises(ParseError, match="50-character budget"):
        parse_file(big, ParseBudget(max_chars=50))


def test_deep_nesting_does_not_recurse(tmp_path: Path) -> None:
    """Thousands of nested elements parse fine: the walk keeps its own stack."""
    path = tmp_path / "deep.html"
    path.write_text("<span>" * 3000 + "deep text" + "</span>" * 3000, encoding="utf-8")
    assert texts(parse_file(path).blocks) == ["deep text"]


HIDDEN = """<html><body>
<h1>Supplier <span style="display:none">secret heading words</span></h1>
<p>Paper costs 5.90 euros per ream.</p>
<p style="color:#ffffff; background-color:#FFF">white on white words</p>
<div style="display: none !important"><p>display none words</p></div>
<span style="font-size:0">zero size words</span>
<p style="visibility:hidden">invisible words</p>
<p hidden>hidden attribute words</p>
<p style="opacity:0">transparent words</p>
<table bgcolor="#000000"><tr><td><font color="#000">black on black words</font></td><td>cell words</td></tr></table>
<p style="color:white; background:#123456">white on blue stays</p>
<p style="color:#ffffff">white text on an undeclared background stays (a stylesheet may make it visible)</p>
</body></html>"""


def test_text_a_reader_cannot_see_is_not_indexed(tmp_path: Path) -> None:
    path = tmp_path / "hidden.html"
    path.write_text(HIDDEN, encoding="utf-8")
    doc = parse_file(path)
    joined = " ".join(texts(doc.blocks)) + " ".join(h for b in doc.blocks for h in b.heading_path)
    assert "Paper costs 5.90 euros per ream." in joined and "white on blue stays" in joined
    assert "cell words" in joined and "white text on an undeclared background stays" in joined
    for hidden in ("secret heading", "white on white", "display none", "zero size", "invisible", "hidden attribute",
                   "transparent", "black on black"):
        assert hidden not in joined, hidden

"""CSV/TSV rows as "column: value" text with line ranges; JSON flattened to paths; malformed data refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from tools.index.document import ParseError
from tools.index.parsers import parse_file


def test_csv_rows_grouped_with_line_ranges(tmp_path: Path) -> None:
    """Each row repeats its header names; blocks hold 20 rows; a quoted newline keeps its row whole."""
    rows = [f"person{number},{20 + number},Paris" for number in range(24)]
    rows[3] = 'person3,23,"Lyon\nFrance"'
    source = "name,age,city\n" + "\n".join(rows) + "\n"
    path = tmp_path / "people.csv"
    path.write_text(source, encoding="utf-8")
    document = parse_file(path)
    assert document.file_type == "csv"
    assert document.title == "people"
    assert [(block.kind, block.line_start, block.line_end) for block in document.blocks] == [
        ("table", 2, 22),
        ("table", 23, 26),
    ]
    first = document.blocks[0].text.split("\n")
    assert len(first) == 20
    assert first[0] == "name: person0; age: 20; city: Paris"
    assert first[3] == "name: person3; age: 23; city: Lyon France"
    lines = source.split("\n")
    last = document.blocks[1]
    assert last.line_start is not None and last.line_end is not None
    assert lines[last.line_start - 1] == "person20,40,Paris"
    assert lines[last.line_end - 1] == "person23,43,Paris"


def test_tsv_and_semicolon_csv(tmp_path: Path) -> None:
    """TSV splits on tabs; a semicolon CSV is sniffed; empty values are left out."""
    tsv = tmp_path / "scores.tsv"
    tsv.write_text("team\tscore\nred\t3\nblue\t\n", encoding="utf-8")
    assert parse_file(tsv).blocks[0].text == "team: red; score: 3\nteam: blue"
    semicolon = tmp_path / "prices.csv"
    semicolon.write_text("item;price\napple;1,20\npear;0,90\n", encoding="utf-8")
    assert parse_file(semicolon).blocks[0].text == "item: apple; price: 1,20\nitem: pear; price: 0,90"


def test_json_flattened_by_top_level_key(tmp_path: Path) -> None:
    """Nested values become "a.b[0].c: value" lines, grouped under their top-level key."""
    path = tmp_path / "settings.json"
    path.write_text(
        '{"index": {"roots": ["~/Docs", "~/Notes"], "watch": true}, "model": {"name": "local", "temp": 0.2},'
        ' "empty": {}, "none": null}',
        encoding="utf-8",
    )
    document = parse_file(path)
    assert document.file_type == "json"
    assert [(block.heading_path, block.text) for block in document.blocks] == [
        (("index",), "index.roots[0]: ~/Docs\nindex.roots[1]: ~/Notes\nindex.watch: true"),
        (("model",), "model.name: local\nmodel.temp: 0.2"),
        (("empty",), "empty: {}"),
        (("none",), "none: null"),
    ]


def test_jsonl_one_block_per_line(tmp_path: Path) -> None:
    """Each JSON Lines record is a block with its own line number; blank lines are skipped."""
    path = tmp_path / "events.jsonl"
    path.write_text('{"event": "start", "at": 1}\n\n{"event": "stop", "tags": ["a"]}\n', encoding="utf-8")
    document = parse_file(path)
    assert [(block.line_start, block.line_end, block.text) for block in document.blocks] == [
        (1, 1, "event: start\nat: 1"),
        (3, 3, "event: stop\ntags[0]: a"),
    ]


def test_malformed_json_reports_line_and_column(tmp_path: Path) -> None:
    """A syntax error names where it is, in JSON and in JSON Lines alike."""
    broken = tmp_path / "broken.json"
    broken.write_text('{\n  "a": 1,\n  "b": ,\n}\n', encoding="utf-8")
    with pytest.raises(ParseError, match=r"^invalid JSON at line 3, column 8: Expecting value$"):
        parse_file(broken)
    broken_lines = tmp_path / "broken.ndjson"
    broken_lines.write_text('{"ok": 1}\n{"ok": 2}\n{"bad": }\n', encoding="utf-8")
    with pytest.raises(ParseError, match=r"^invalid JSON at line 3, column 9: "):
        parse_file(broken_lines)


def test_deeply_nested_json(tmp_path: Path) -> None:
    """Nesting deeper than the decoder handles is a ParseError, not a RecursionError."""
    path = tmp_path / "deep.json"
    path.write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    with pytest.raises(ParseError, match="nested too deeply"):
        parse_file(path)

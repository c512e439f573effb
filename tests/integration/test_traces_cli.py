"""`deskmate ask --json` stores a trace, and `deskmate traces` lists and shows it, as a user runs them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.integration.test_cli import deskmate


@pytest.fixture
def docs(tmp_path: Path) -> Path:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "backup.md").write_text(
        "# Backups\n\nBackups run every night at two o'clock.\nThey are kept for thirty days on the archive server.\n",
        encoding="utf-8")
    return folder


def test_ask_stores_a_trace_that_traces_list_and_show_read(deskmate_home: Path, docs: Path) -> None:
    assert deskmate(deskmate_home, "index", "add", str(docs), "--sync").returncode == 0
    asked = deskmate(deskmate_home, "ask", "How long are backups kept?", "--json")
    assert asked.returncode == 0, asked.stderr
    answer = json.loads(asked.stdout)
    trace_id = answer["trace_id"]
    assert trace_id and answer["mode"] == "fallback"  # no model installed: the answer from the files

    shown = deskmate(deskmate_home, "traces", "show", trace_id, "--json")
    assert shown.returncode == 0, shown.stderr
    record = json.loads(shown.stdout)
    assert record["id"] == trace_id and record["question"] == "How long are backups kept?"
    root = record["spans"]
    assert root["name"] == "turn" and root["attributes"]["mode"] == "fallback"
    assert root["attributes"]["fallback_reason"].startswith("not_installed")
    children = {c["name"]: c for c in root["children"]}
    assert [c["name"] for c in root["children"]] == [t["node"] for t in answer["trace"]]
    assert {"check_input", "classify", "cache", "retrieve", "draft", "agent", "finish"} <= set(children)
    assert children["retrieve"]["attributes"]["candidates"][0]["path"].endswith("backup.md")
    assert all(isinstance(c["duration_ms"], float) for c in root["children"])  # timed, not left empty

    listed = deskmate(deskmate_home, "traces", "list", "--json")
    assert [t["id"] for t in json.loads(listed.stdout)] == [trace_id]
    text = deskmate(deskmate_home, "traces", "list").stdout
    assert trace_id in text and "How long are backups kept?" in text

    tree = deskmate(deskmate_home, "traces", "show", trace_id).stdout.splitlines()
    assert any(line.startswith("turn ") and "mode=fallback" in line for line in tree)
    assert any(line.startswith("  retrieve ") and " ms" in line for line in tree)
    assert any("backup.md" in line for line in tree)

    stats = json.loads(deskmate(deskmate_home, "traces", "stats", "--json").stdout)
    assert stats["total"]["turns"] == 1 and stats["total"]["fallback_rate"] == 1.0


def test_an_unknown_trace_is_one_clear_line_and_exit_1(deskmate_home: Path) -> None:
    missing = deskmate(deskmate_home, "traces", "show", "nope")
    assert missing.returncode == 1
    assert missing.stderr.strip().splitlines() == ["deskmate: no trace 'nope'; `deskmate traces list` shows their ids"]


def test_traces_can_be_turned_off_and_documents_withheld(deskmate_home: Path, docs: Path) -> None:
    (deskmate_home / "config").mkdir(parents=True)
    (deskmate_home / "config" / "settings.toml").write_text("[trust]\nredact_documents = true\n", encoding="utf-8")
    assert deskmate(deskmate_home, "index", "add", str(docs), "--sync").returncode == 0
    answer = json.loads(deskmate(deskmate_home, "ask", "How long are backups kept?", "--json").stdout)
    record = json.loads(deskmate(deskmate_home, "traces", "show", answer["trace_id"], "--json").stdout)
    assert record["question"] is None and record["spans"]["attributes"]["answer"] == "(withheld)"
    assert "(withheld)" in deskmate(deskmate_home, "traces", "list").stdout
    raw = b"".join(p.read_bytes() for p in (deskmate_home / "data").glob("traces.sqlite3*"))
    assert b"thirty days" not in raw and b"backups kept" not in raw

    (deskmate_home / "config" / "settings.toml").write_text("[trust]\ntraces = false\n", encoding="utf-8")
    untraced = json.loads(deskmate(deskmate_home, "ask", "How long are backups kept?", "--json").stdout)
    assert untraced["trace_id"] is None
    assert len(json.loads(deskmate(deskmate_home, "traces", "list", "--json").stdout)) == 1

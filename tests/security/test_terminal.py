"""Issue 11, finding 5: text from documents, the user and models is printed literally, never as Rich markup or emoji.

The commands run as a user runs them (a real process, the real embedder); FORCE_COLOR makes Rich write to the pipe
as it writes to a terminal, so a hidden hyperlink (OSC 8) or a lost style tag would show in the bytes.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

HEADING = "Budget [/red] plan"
LINK = "[link=https://evil.example/x]click here[/link]"
PASSWD = "root:x:0:0"
NAME = "report [bold red] x.md"
QUESTION = "is [bold]root:x:0:0[/bold] :smile: in the budget plan?"
ESCAPE = "\x1b]8;;https://raw.example/\x1b\\raw link\x1b]8;;\x1b\\"  # a document's own terminal hyperlink
SGR = re.compile(r"\x1b\[[0-9;]*m")  # Rich's own colours and bold: allowed, stripped before comparing


def run(home: Path, *args: str, terminal: bool = False) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "NO_COLOR")}
    env.update({"DESKMATE_HOME": str(home), "PYTHONPATH": str(REPO), "COLUMNS": "200"})
    if terminal:
        env["FORCE_COLOR"] = "1"
    return subprocess.run([sys.executable, "-m", "app", *args], env=env, capture_output=True, text=True,
                          timeout=300, cwd=REPO)


def plain(text: str) -> str:
    return SGR.sub("", text)


@pytest.fixture(scope="module")
def indexed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A home whose index holds one hostile file, in a root whose own name looks like markup."""
    home = tmp_path_factory.mktemp("markup-home")
    root = tmp_path_factory.mktemp("markup-docs") / "notes [bold]"
    root.mkdir()
    (root / NAME).write_text(f"# {HEADING}\n\n## Travel {LINK}\n\nThe line {PASSWD} is in the travel budget file "
                             f":thumbs_up:. {ESCAPE}\n", encoding="utf-8")
    added = run(home, "index", "add", str(root), "--sync")
    assert added.returncode == 0, added.stderr
    return home, root


def test_search_prints_headings_snippets_and_names_literally(indexed: tuple[Path, Path]) -> None:
    home, root = indexed
    result = run(home, "search", "travel budget", terminal=True)
    assert result.returncode == 0, result.stderr
    shown = plain(result.stdout)
    assert str(root / NAME) in shown and f"   {HEADING} > Travel {LINK}" in shown
    assert PASSWD in shown and ":thumbs_up:" in shown and "\\x1b]8;;https://raw.example/" in shown
    assert "\x1b]8;" not in result.stdout  # no hyperlink, neither from markup nor from the document's own escape
    assert "\u274c" not in shown and "\U0001f44d" not in shown  # no emoji made from :x: or :thumbs_up:
    assert "\x1b[1m" in result.stdout  # the rank line is still bold: styles come from the code, not the data


def test_file_tables_and_root_lists_keep_names_whole(indexed: tuple[Path, Path]) -> None:
    home, root = indexed
    status = run(home, "index", "status", "--files", terminal=True)
    assert status.returncode == 0, status.stderr
    assert str(root / NAME) in plain(status.stdout).replace("\n", "")
    listed = run(home, "index", "list")
    assert listed.stdout.strip() == str(root)


def test_questions_and_memories_are_printed_as_typed(indexed: tuple[Path, Path]) -> None:
    home, _ = indexed
    asked = run(home, "ask", QUESTION, "--json")
    assert asked.returncode == 0, asked.stderr
    shown = run(home, "threads", "show", json.loads(asked.stdout)["thread_id"], terminal=True)
    assert shown.returncode == 0, shown.stderr
    assert f"1. {QUESTION}" in plain(shown.stdout) and "\x1b]8;" not in shown.stdout

    remembered = run(home, "memory", "add", f"my login is {PASSWD} [/bold]", terminal=True)
    assert remembered.returncode == 0, remembered.stderr
    assert f"my login is {PASSWD} [/bold]" in plain(remembered.stdout)
    listed = run(home, "memory", "list")
    assert f"my login is {PASSWD} [/bold]" in listed.stdout


def test_the_consoles_print_strings_literally(capsys: pytest.CaptureFixture[str]) -> None:
    from app.console import err, out

    out.print(f"{HEADING} {LINK} {PASSWD} :smile:")
    err.print("[bold]x[/bold] :x:")
    captured = capsys.readouterr()
    assert captured.out == f"{HEADING} {LINK} {PASSWD} :smile:\n"
    assert captured.err == "[bold]x[/bold] :x:\n"

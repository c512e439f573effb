"""`deskmate act` (actions on a text) and `--scope` on ask/chat, run as a user runs them: a real process, no model."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO
from tests.integration.test_ask_cli import indexed
from tests.integration.test_cli import deskmate

PARAGRAPH = (
    "The new backup policy starts in March. Backups of the project server run every night at two o'clock. "
    "I like coffee. The backups of the project server are kept for thirty days on the archive server. "
    "Restoring a backup of the project server takes about an hour. Lunch was fine.")
SHOUT = 'id = "shout"\nversion = 2\ntitle = "Shout"\nword = "shout"\nprompt = "Say this loudly: {text}"\n'


def run(home: Path, *args: str, stdin: bytes | int | None = None) -> subprocess.CompletedProcess[bytes]:
    """``deskmate ARGS`` with ``stdin`` as bytes (or a file descriptor), output as bytes."""
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env.update({"DESKMATE_HOME": str(home), "PYTHONPATH": str(REPO)})
    command = [sys.executable, "-m", "app", *args]
    if isinstance(stdin, bytes):
        return subprocess.run(command, env=env, capture_output=True, timeout=300, cwd=REPO, input=stdin)
    source = subprocess.DEVNULL if stdin is None else stdin
    return subprocess.run(command, env=env, capture_output=True, timeout=300, cwd=REPO, stdin=source)


def test_act_list_shows_the_shipped_presets_and_the_users_own(deskmate_home: Path) -> None:
    prompts = deskmate_home / "config" / "prompts"
    prompts.mkdir(parents=True)
    (prompts / "shout.toml").write_text(SHOUT, encoding="utf-8")
    (prompts / "broken.toml").write_bytes(b"id = \xff")
    result = deskmate(deskmate_home, "act", "--list")
    assert result.returncode == 0, result.stderr
    rows = {line.split()[0]: line for line in result.stdout.splitlines()[1:]}
    assert set(rows) == {"/summarise", "/explain", "/rewrite", "/fix", "/translate", "/reply", "/shout"}
    assert "language (default English)" in rows["/translate"] and "shipped" in rows["/translate"]
    assert "style: clearer|shorter|more formal|friendlier (default clearer)" in rows["/rewrite"]
    assert rows["/shout"].split()[-1] == "yours"
    assert "broken.toml: is not UTF-8 text" in result.stderr  # said once, and the other presets still work
    listed = json.loads(deskmate(deskmate_home, "act", "--list", "--json").stdout)
    assert {p["ref"] for p in listed} >= {"action:shout@2", "action:translate@2"}


def test_act_summarise_without_a_model_prints_the_extractive_summary(deskmate_home: Path) -> None:
    result = run(deskmate_home, "act", "summarise", "--no-model", stdin=PARAGRAPH.encode())
    assert result.returncode == 0, result.stderr
    out, err = result.stdout.decode(), result.stderr.decode()
    assert "- Backups of the project server run every night at two o'clock." in out
    assert "- Restoring a backup of the project server takes about an hour." in out
    assert "I like coffee" not in out and "Lunch was fine" not in out
    assert "route: action; action: summarise;" in err and "draft" not in err  # the answer is shown once
    data = json.loads(run(deskmate_home, "act", "summarise", "--no-model", "--json", stdin=PARAGRAPH.encode()).stdout)
    assert data["action"] == "summarise" and data["route"] == "action" and data["citations"] == []
    assert "thirty days" in data["answer"]


def test_act_translate_without_a_model_says_a_model_is_needed(deskmate_home: Path) -> None:
    result = deskmate(deskmate_home, "act", "translate", "--arg", "de", "--text", "Good morning.", "--no-model",
                      "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["action"] == "translate" and data["route"] == "action"
    assert "model" in data["answer"].lower() and "Good morning." not in data["answer"]  # a message, not the text
    assert data["citations"] == []


def test_act_refuses_text_it_cannot_use(deskmate_home: Path) -> None:
    leader, follower = pty.openpty()  # stdin is a terminal: there is no text to read
    try:
        typed = run(deskmate_home, "act", "summarise", stdin=follower)
    finally:
        os.close(leader)
        os.close(follower)
    assert typed.returncode == 2 and b"--text" in typed.stderr and b"pipe it in" in typed.stderr
    empty = run(deskmate_home, "act", "summarise", stdin=b" \n\t\n")
    assert empty.returncode == 2 and b"no text to work on" in empty.stderr
    long = run(deskmate_home, "act", "fix", stdin=b"word " * 4001)
    assert long.returncode == 2 and b"20,005 characters" in long.stderr and b"at most 20,000" in long.stderr
    huge = run(deskmate_home, "act", "fix", stdin=b"x" * 1_000_000)
    assert huge.returncode == 2 and b"longer than 20,000 characters" in huge.stderr
    bad = run(deskmate_home, "act", "fix", stdin=b"caf\xe9 au lait")
    assert bad.returncode == 2 and b"not valid UTF-8 (at byte 3)" in bad.stderr
    unknown = run(deskmate_home, "act", "sing", "--text", "la la")
    assert unknown.returncode == 1 and b"no action 'sing'" in unknown.stderr and b"translate" in unknown.stderr
    style = run(deskmate_home, "act", "rewrite", "--arg", "pirate", "--text", "Hello.")
    assert style.returncode == 1 and b"clearer, shorter, more formal, friendlier" in style.stderr
    escape = run(deskmate_home, "act", "translate", "--arg", "de\x1b[2J", "--text", "Hello.")
    assert escape.returncode == 1 and b"\x1b" not in escape.stderr
    nothing = run(deskmate_home, "act")
    assert nothing.returncode == 2 and b"name an action" in nothing.stderr
    for result in (typed, empty, long, huge, bad, unknown, style, escape, nothing):
        assert b"Traceback" not in result.stderr and result.stdout == b""


def test_ask_scope_is_checked_and_carried(deskmate_home: Path, docs: Path) -> None:
    bad = deskmate(deskmate_home, "ask", "passport fee", "--scope", "colour:blue")
    assert bad.returncode == 2 and "unknown scope key 'colour'" in bad.stderr
    indexed(deskmate_home, docs)
    data = json.loads(deskmate(deskmate_home, "ask", "how long are backups kept?", "--json",
                               "--scope", f"file:{docs / 'passport.md'}").stdout)
    assert data["scope"]["files"] == [str(docs / "passport.md")]
    assert all(c["path"].endswith("passport.md") for c in data["citations"])  # never a file outside the scope


def test_chat_help_scope_and_actions(deskmate_home: Path, docs: Path) -> None:
    indexed(deskmate_home, docs)
    script = (f"/help\n/scope\n/scope colour:blue\n/scope folder:{docs}\n/scope\nwhich file mentions backups\n"
              f"/scope clear\n/summarise {PARAGRAPH}\n/quit\n")
    result = run(deskmate_home, "chat", stdin=script.encode())
    out, err = result.stdout.decode(), result.stderr.decode()
    assert result.returncode == 0, err
    assert "/translate [language]" in err and "/rewrite [clearer|shorter|more formal|friendlier]" in err
    assert "/scope SPEC" in err and "Draft a reply" in err
    assert "unknown scope key 'colour': use folder, file, type, after or before; the scope is unchanged" in err
    assert f"scope: folder: {docs.name} (from the next question on)" in err
    assert f"scope: folder: {docs.name}\n" in err and "scope cleared" in err
    assert "backup.md" in out
    assert "- Restoring a backup of the project server takes about an hour." in out  # /summarise went through

"""Issue 11, finding 6 (the CLI's part): bad input and broken folders end in one clear line and an exit code.

Bytes that are not UTF-8, a data folder that is a file or read-only, an empty ``--home``, numbers out of range, an
invalid settings file and an unexpected failure each give one line on stderr, never a traceback; the audit log masks
keys as traces and logs do.
"""

from __future__ import annotations

import argparse
import errno
import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from agents.guard.audit import AuditLog
from app.cli import build_parser, commands, main
from tests.conftest import REPO

HUGE = "99999999999999999999"
KEY = "sk-proj-" + "Ab3dE5gH7jK9mN1pQ3sT5vW7yZ9bC1dF"


def run(home: Path | None, *args: str | bytes, stdin: bytes | None = None,
        env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "DESKMATE_HOME")}
    environ.update({"PYTHONPATH": str(REPO), **(env or {})})
    if home is not None:
        environ["DESKMATE_HOME"] = str(home)
    result = subprocess.run([sys.executable, "-m", "app", *args], env=environ, input=stdin, capture_output=True,
                            timeout=300, cwd=REPO)
    return subprocess.CompletedProcess(result.args, result.returncode, result.stdout.decode(errors="replace"),
                                       result.stderr.decode(errors="replace"))


def one_line(stderr: str) -> str:
    """The one line the user gets: exactly one, and no traceback."""
    assert "Traceback" not in stderr
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("deskmate: ")
    return lines[0]


@pytest.mark.parametrize("args", [(b"search", b"caf\xff"), (b"index", b"add", b"/tmp/caf\xe9")],
                         ids=["search", "index-add"])
def test_an_argument_that_is_not_utf8_is_refused(deskmate_home: Path, args: tuple[bytes, ...]) -> None:
    result = run(deskmate_home, *args)
    assert result.returncode == 2
    line = one_line(result.stderr)
    assert "not valid UTF-8" in line and "caf\ufffd" in line


@pytest.mark.parametrize("encoding", [None, "utf-8:strict"], ids=["default", "strict-stdin"])
def test_a_chat_line_that_is_not_utf8_is_refused_and_the_chat_goes_on(deskmate_home: Path,
                                                                      encoding: str | None) -> None:
    env = {"PYTHONIOENCODING": encoding} if encoding else {}
    result = run(deskmate_home, "chat", stdin=b"caf\xff au lait\nwhat is 2 + 2\n/quit\n", env=env)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert [line for line in result.stderr.splitlines() if "UTF-8" in line] == [
        "deskmate: that line is not valid UTF-8 text, so it was not sent: type it again"]
    assert "2 + 2 = 4" in result.stdout


def test_a_data_folder_that_is_a_file_is_one_line(tmp_path: Path) -> None:
    a_file = tmp_path / "notes.txt"
    a_file.write_text("not a folder", encoding="utf-8")
    result = run(None, "--home", str(a_file), "index", "list")
    assert result.returncode == 1
    assert f"{a_file} is a file, not a folder" in one_line(result.stderr)

    home = tmp_path / "home"
    home.mkdir()
    (home / "data").write_text("in the way", encoding="utf-8")
    result = run(home, "index", "list")
    assert result.returncode == 1
    assert f"{home / 'data'} is a file, not a folder" in one_line(result.stderr)


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root writes to read-only folders")
def test_a_read_only_data_folder_is_one_line(tmp_path: Path) -> None:
    home = tmp_path / "home"
    (home / "data").mkdir(parents=True)
    (home / "data").chmod(0o555)
    try:
        result = run(home, "index", "list")
    finally:
        (home / "data").chmod(0o755)
    assert result.returncode == 1
    assert "read-only" in one_line(result.stderr)


def test_an_empty_home_is_a_usage_error_not_the_default_folder(deskmate_home: Path) -> None:
    result = run(deskmate_home, "--home", "", "index", "list")
    assert result.returncode == 2
    assert "--home: cannot be empty" in result.stderr and "Traceback" not in result.stderr
    assert not deskmate_home.exists()  # nothing was written anywhere


def test_a_huge_number_is_a_usage_error(deskmate_home: Path) -> None:
    result = run(deskmate_home, "search", "budget", "--k", HUGE)
    assert result.returncode == 2
    assert "argument --k: expected a whole number from 1 to 1000" in result.stderr
    assert "C long" not in result.stderr and "Traceback" not in result.stderr


NUMBER_OPTIONS = {
    "search --k": ("search", "q", "--k"),
    "eval personal --k": ("eval", "personal", "--k"),
    "generate --max-tokens": ("generate", "hi", "--max-tokens"),
    "traces list --limit": ("traces", "list", "--limit"),
    "traces stats --days": ("traces", "stats", "--days"),
    "audit --limit": ("audit", "--limit"),
    "models add --context": ("models", "add", "m", "/tmp/m", "--context"),
    "providers add --context": ("providers", "add", "p", "--base-url", "http://localhost:1/v1", "--model", "m",
                                "--context"),
    "eval retrieval --tolerance": ("eval", "retrieval", "--dataset", "/tmp/d", "--tolerance"),
}


@pytest.mark.parametrize("command", list(NUMBER_OPTIONS.values()), ids=list(NUMBER_OPTIONS))
@pytest.mark.parametrize("value", [HUGE, "-5", "nan", "9" * 5000], ids=["huge", "negative", "nan", "5000-digits"])
def test_every_number_option_has_bounds(command: tuple[str, ...], value: str,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        build_parser().parse_args([*command, value])
    assert exit_.value.code == 2
    assert f"argument {command[-1]}: expected a " in capsys.readouterr().err


def _actions(parser: argparse.ArgumentParser) -> Iterator[argparse.Action]:
    """Every argument of every command and subcommand."""
    for action in parser._actions:
        yield action
        for sub in getattr(action, "choices", None) or {}:
            if isinstance(action.choices, dict) and isinstance(action.choices[sub], argparse.ArgumentParser):
                yield from _actions(action.choices[sub])


def test_no_option_takes_an_unbounded_number() -> None:
    unbounded = [a.option_strings or a.dest for a in _actions(build_parser()) if a.type in (int, float)]
    assert unbounded == []


@pytest.mark.parametrize("argv", [("index", "add", "a\x00b"), ("index", "remove", "a\x00b"),
                                  ("search", "q", "--root", "a\x00b"), ("index", "add", "~nosuchuser-dm/x"),
                                  ("search", "q", "--root", "~nosuchuser-dm/x"), ("--home", "a\x00b", "overview")])
def test_a_path_the_system_cannot_take_is_a_usage_error(argv: tuple[str, ...],
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        build_parser().parse_args(list(argv))
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "not a path:" in err and ("NUL byte" in err or "no home folder" in err)


def test_no_option_takes_an_unchecked_path() -> None:
    assert [a.option_strings or a.dest for a in _actions(build_parser()) if a.type is Path] == []


def test_invalid_settings_are_reported_once(tmp_path: Path) -> None:
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "settings.toml").write_text('log_level = "LOUD"\n', encoding="utf-8")
    result = run(tmp_path, "index", "list")
    assert result.returncode == 1
    assert "invalid settings" in one_line(result.stderr)


def test_the_audit_log_masks_keys(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "audit.jsonl")
    url = f"https://example.org/share?x={'a' * 190}&s={KEY}"  # the key straddles the 200-character cut
    log.record("t1", "open_path", {"target": url, "note": {"body": f"my key is {KEY}"}}, "denied", "user",
               f"the user declined {KEY}")
    stored = (tmp_path / "audit.jsonl").read_text(encoding="utf-8")
    assert KEY not in stored and KEY[:12] not in stored
    entry = json.loads(stored)
    assert entry["arguments"]["note"]["body"] == "my key is [redacted api key]"
    assert entry["reason"] == "the user declined [redacted api key]"


@pytest.fixture
def restored_logging() -> Iterator[None]:
    """main() sets up the root logger for the process; the test process gets its own back."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
            handler.close()
    for handler in handlers:
        if handler not in root.handlers:
            root.addHandler(handler)
    root.setLevel(level)


@pytest.mark.parametrize(("failure", "expected"), [
    (RuntimeError("a bug\nover two lines"), "deskmate: unexpected error: RuntimeError: a bug over two lines (the "
                                            "details are in {log})"),
    (OSError(errno.ENOSPC, "No space left on device", "/data/index"), "deskmate: No space left on device: "
                                                                       "/data/index"),
], ids=["bug", "os-error"])
def test_anything_else_is_one_line_and_the_details_go_to_the_log(
        deskmate_home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        restored_logging: None, failure: Exception, expected: str) -> None:
    def fail(*_: object) -> int:
        raise failure

    monkeypatch.setattr(commands, "dispatch", fail)
    assert main(["index", "list"]) == 1
    log = deskmate_home / "logs" / "deskmate.log"
    assert one_line(capsys.readouterr().err) == expected.format(log=log)
    assert "Traceback" in log.read_text(encoding="utf-8") or isinstance(failure, OSError)

"""The `deskmate` command line, run as a user runs it: a real process, real models, a private home."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("cli-home")


@pytest.fixture(scope="module")
def docs(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("cli-docs")
    (folder / "guide.md").write_text(
        "# Guide\n\n## Install\n\nRun the installer. Error ERR_4012 means the disk is full.\n\n"
        "## Usage\n\nAsk questions about your files.\n", encoding="utf-8")
    (folder / "tool.py").write_text("def parse_file(path):\n    return path\n", encoding="utf-8")
    (folder / "bad.txt").write_bytes(b"caf\xc3\x28 invalid utf-8")
    return folder


def deskmate(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # No display: a bare `deskmate` prints the overview instead of opening the desktop app.
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env.update({"DESKMATE_HOME": str(home), "PYTHONPATH": str(REPO)})
    return subprocess.run([sys.executable, "-m", "app", *args], env=env, capture_output=True, text=True,
                          timeout=300, cwd=REPO)


def test_full_cycle(home, docs):
    added = deskmate(home, "index", "add", str(docs))
    assert added.returncode == 0 and str(docs) in added.stdout

    listed = json.loads(deskmate(home, "index", "list", "--json").stdout)
    assert [r["path"] for r in listed] == [str(docs)]

    sync = deskmate(home, "index", "sync", "--json")
    assert sync.returncode == 0, sync.stderr
    report = json.loads(sync.stdout)
    assert (report["added"], report["failed"]) == (2, 1)
    assert report["chunks_embedded"] >= 3 and report["seconds"] > 0
    assert sync.stderr == ""  # --json stays quiet

    again = json.loads(deskmate(home, "index", "sync", "--json").stdout)
    assert (again["unchanged"], again["added"], again["chunks_embedded"]) == (3, 0, 0)

    status = json.loads(deskmate(home, "index", "status", "--json", "--files").stdout)
    assert status["files"] == 2 and status["failed"] == 1
    assert status["failures"][0]["path"].endswith("bad.txt")
    assert status["embedder"]["model"] == "sentence-transformers/all-MiniLM-L6-v2"
    assert {Path(f["path"]).name: f["chunks"] for f in status["file_list"]}["bad.txt"] == 0

    found = json.loads(deskmate(home, "search", "disk is full", "--json").stdout)
    top = found["results"][0]
    assert top["path"].endswith("guide.md") and top["heading"] == "Guide > Install" and top["line_start"] == 5
    assert "**disk**" in top["snippet"]
    exact = json.loads(deskmate(home, "search", "ERR_4012", "--mode", "fts", "--json").stdout)
    assert exact["results"][0]["exact_match"]
    typed = json.loads(deskmate(home, "search", "parse file", "--type", "python", "--json").stdout)
    assert [Path(r["path"]).name for r in typed["results"]] == ["tool.py"]

    text = deskmate(home, "search", "installer")
    assert text.returncode == 0 and "guide.md:5-5" in text.stdout

    overview = deskmate(home)
    assert overview.returncode == 0 and "2 files" in overview.stdout and "No display found" in overview.stdout
    assert "No display" not in deskmate(home, "overview").stdout  # asked for by name: just the overview

    removed = deskmate(home, "index", "remove", str(docs))
    assert removed.returncode == 0
    assert json.loads(deskmate(home, "index", "status", "--json").stdout)["chunks"] == 0


def test_errors_exit_1_with_one_line(home, tmp_path):
    missing = deskmate(home, "index", "add", str(tmp_path / "nope"))
    assert missing.returncode == 1
    assert missing.stderr.strip().count("\n") == 0 and "does not exist" in missing.stderr
    bad_dataset = deskmate(home, "eval", "retrieval", "--dataset", str(tmp_path))
    assert bad_dataset.returncode == 1 and "corpus.jsonl" in bad_dataset.stderr


def test_usage_errors_exit_2(home):
    assert deskmate(home, "search").returncode == 2
    assert deskmate(home, "search", "x", "--mode", "magic").returncode == 2
    assert deskmate(home, "search", "x", "--after", "yesterday-ish").returncode == 2
    assert deskmate(home, "frobnicate").returncode == 2


def test_home_flag_overrides_environment(home, tmp_path):
    other = tmp_path / "other-home"
    result = deskmate(home, "--home", str(other), "index", "list", "--json")
    assert result.returncode == 0 and json.loads(result.stdout) == []
    assert (other / "logs" / "deskmate.log").exists()


def test_index_watch_applies_an_edit_and_stops_on_ctrl_c(tmp_path):
    import signal
    import time

    home = tmp_path / "watch-home"
    folder = tmp_path / "watched"
    folder.mkdir()
    note = folder / "note.md"
    note.write_text("# Note\n\nabout lighthouses\n", encoding="utf-8")
    assert deskmate(home, "index", "add", str(folder), "--sync").returncode == 0
    # No display: a bare `deskmate` prints the overview instead of opening the desktop app.
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env.update({"DESKMATE_HOME": str(home), "PYTHONPATH": str(REPO)})
    with subprocess.Popen([sys.executable, "-m", "app", "index", "watch"], env=env, cwd=REPO,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as watcher:
        try:
            first = watcher.stdout.readline()
            assert "watching 1 roots" in first, (first, watcher.poll())
            note.write_text("# Note\n\nabout windmills\n", encoding="utf-8")
            line = watcher.stdout.readline()  # blocks until the watcher reports its sync
            assert "1 changed" in line, line
            watcher.send_signal(signal.SIGINT)
            _, errors = watcher.communicate(timeout=60)
            assert watcher.returncode == 0, errors
        finally:
            if watcher.poll() is None:
                watcher.kill()
                watcher.communicate()
    deadline = time.monotonic() + 60
    while "windmills" not in deskmate(home, "search", "windmills", "--mode", "fts").stdout:
        assert time.monotonic() < deadline, "the edit never became searchable"

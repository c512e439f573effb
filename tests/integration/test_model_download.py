"""Catalog downloads of a real model (the default model's ONNX folder) from a local fake hub, as a user meets them.

The 259 MB folder crosses localhost about twice in this file: once in-process (with a dropped connection), once
through `deskmate models download` stopped with Ctrl+C, continued and killed with SIGKILL mid-file, then run to the
end. The other tests stop before the big file or before the first byte.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from agents.providers import catalog as user_catalog
from agents.providers.manager import download as dl
from agents.providers.manager.catalog import CatalogEntry, find, load_catalog
from app.settings import Paths
from tests.conftest import REPO
from tests.support.fake_hub import COMMIT, FakeHub

NAME = "smollm2-test"
BIG = "cpu-int8/model.onnx.data"


@pytest.fixture
def hub(default_model_dir: Path) -> Iterator[FakeHub]:
    with FakeHub("test/smollm2") as server:
        server.add_folder(default_model_dir, "cpu-int8")
        yield server


@pytest.fixture
def catalog_file(hub: FakeHub, tmp_path: Path) -> Path:
    """A catalog holding the fake hub's model, and one that fits no machine."""
    size = sum(f.size for f in hub.files.values())
    catalog_file = tmp_path / "catalog.toml"
    catalog_file.write_text(f"""
[[models]]
name = "{NAME}"
title = "SmolLM2 135M Instruct (test hub)"
publisher = "tests"
repo = "test/smollm2"
revision = "{COMMIT}"
verified = true
params_b = 0.135
ram_gb = 0.6
context_length = 8192
licence = "Apache-2.0"
good_at = "answering the tests"
card_url = "https://example.invalid/smollm2"
[[models.variants]]
device = "cpu"
precision = "int8"
subfolder = "cpu-int8"
size_bytes = {size}

[[models]]
name = "enormous"
title = "Enormous"
publisher = "tests"
repo = "test/enormous"
params_b = 7.9
ram_gb = 100000
context_length = 4096
licence = "MIT"
good_at = "nothing here"
card_url = "https://example.invalid/enormous"
[[models.variants]]
device = "cpu"
precision = "int4"
subfolder = "cpu"
size_bytes = 5000000000
""", encoding="utf-8")
    return catalog_file


@pytest.fixture
def home(deskmate_home: Path, catalog_file: Path) -> Path:
    """A Deskmate home whose settings point at that catalog."""
    (deskmate_home / "config").mkdir(parents=True, exist_ok=True)
    (deskmate_home / "config" / "settings.toml").write_text(f'[models]\ncatalog_file = "{catalog_file}"\n',
                                                            encoding="utf-8")
    return deskmate_home


def paths(home: Path) -> Paths:
    return Paths.resolve(home)


def entry(catalog_file: Path) -> CatalogEntry:
    return find(load_catalog(catalog_file), NAME)


def cli_env(home: Path, hub: FakeHub, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "HF_HUB_OFFLINE")}
    env.update({"DESKMATE_HOME": str(home), "PYTHONPATH": str(REPO), "HF_ENDPOINT": hub.url,
                "HF_HOME": str(home / "hf-home"), **extra})
    return env


def cli(home: Path, hub: FakeHub, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "app", *args], env=cli_env(home, hub, **extra),
                          capture_output=True, text=True, timeout=300, cwd=REPO)


def registered(home: Path) -> list[str]:
    return [s.name for s in user_catalog.load(paths(home).models_catalog)]


def nothing_installed(home: Path) -> bool:
    models_dir = paths(home).models_dir
    return registered(home) == [] and not (models_dir / f"{NAME}-cpu-int8").exists()


def test_catalog_lists_what_fits_and_says_how_many_are_hidden(home: Path, hub: FakeHub) -> None:
    listed = cli(home, hub, "models", "catalog", "--json")
    assert listed.returncode == 0, listed.stderr
    data = json.loads(listed.stdout)
    assert [m["name"] for m in data["models"]] == [NAME] and data["hidden"] == 1
    (model,) = data["models"]
    assert model["fits"] and model["device"] == "cpu" and model["verified"] and not model["installed"]
    everything = json.loads(cli(home, hub, "models", "catalog", "--json", "--all").stdout)
    enormous = next(m for m in everything["models"] if m["name"] == "enormous")
    assert not enormous["fits"] and "RAM" in enormous["reason"]
    table = cli(home, hub, "models", "catalog")
    assert table.returncode == 0, table.stderr
    assert NAME in table.stdout and "1 more do not fit" in table.stdout and "enormous" not in table.stdout
    assert hub.requests == []  # listing the catalog contacts nobody


def test_download_resumes_after_a_dropped_connection_answers_and_delete_frees_the_disk(
        home: Path, hub: FakeHub, catalog_file: Path) -> None:
    hub.drop_after[BIG] = 100 * 1024 * 1024 + 123
    where = paths(home)
    result = dl.download(entry(catalog_file), "cpu", where.models_dir, where.models_catalog, endpoint=hub.url)
    assert max(hub.range_starts(BIG)) >= 100 * 1024 * 1024  # huggingface_hub continued the file, not restarted
    assert result.name == f"local/{NAME}" and "paris" in result.check_answer.lower()
    assert result.path == where.models_dir / f"{NAME}-cpu-int8" and registered(home) == [f"local/{NAME}"]
    assert dl.installed(where.models_dir) == [result.path]
    assert not any(r.path.startswith("/api/") and "tree" in r.path for r in hub.requests)

    answer = cli(home, hub, "generate", "What is the capital of France?", "--model", f"local/{NAME}",
                 "--max-tokens", "20", "--json")
    assert answer.returncode == 0, answer.stderr
    data = json.loads(answer.stdout)
    assert data["model"] == f"local/{NAME}" and "Paris" in data["text"]

    deleted = cli(home, hub, "models", "delete", NAME)
    assert deleted.returncode == 0, deleted.stderr
    assert re.search(rf"deleted local/{NAME}: 27\d MB of disk freed", deleted.stdout)
    assert nothing_installed(home)
    again = cli(home, hub, "models", "delete", NAME)
    assert again.returncode == 1 and "not a downloaded model" in again.stderr


def _wait_for_partial(scratch: Path, at_least: int, proc: subprocess.Popen[bytes]) -> Path:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the download ended before it could be killed"
        for part in (scratch / "partial").glob("*.incomplete"):
            if part.stat().st_size >= at_least:
                return part
        time.sleep(0.05)
    raise AssertionError("no partial file grew in time")


def _start_download(home: Path, hub: FakeHub, log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as handle:
        return subprocess.Popen([sys.executable, "-m", "app", "models", "download", NAME],
                                env=cli_env(home, hub), stdout=handle, stderr=subprocess.STDOUT, cwd=REPO)


@pytest.mark.slow
def test_a_download_stopped_or_killed_mid_file_resumes_and_the_model_answers(home: Path, hub: FakeHub,
                                                                             docs: Path) -> None:
    hub.throttle_bps = 30_000_000
    scratch = paths(home).models_dir / f".download-{NAME}-cpu"
    logs = home.parent

    interrupted = _start_download(home, hub, logs / "interrupted.log")
    try:
        part = _wait_for_partial(scratch, 20_000_000, interrupted)
        interrupted.send_signal(signal.SIGINT)  # Ctrl+C
        assert interrupted.wait(timeout=60) == 130
    finally:
        if interrupted.poll() is None:
            interrupted.kill()
            interrupted.wait()
    said = " ".join((logs / "interrupted.log").read_text().split())  # stderr is wrapped at 80 columns
    assert f"`deskmate models download {NAME}` continues from there" in said and "Traceback" not in said
    stopped_at = part.stat().st_size
    assert stopped_at >= 20_000_000 and nothing_installed(home)

    before = len(hub.requests)
    killed = _start_download(home, hub, logs / "killed.log")
    try:
        part = _wait_for_partial(scratch, stopped_at + 30_000_000, killed)
        os.kill(killed.pid, signal.SIGKILL)
        assert killed.wait(timeout=30) == -signal.SIGKILL
    finally:
        if killed.poll() is None:
            killed.kill()
            killed.wait()
    assert [r.range for r in hub.requests[before:] if r.method == "GET" and r.path.endswith(BIG)] == [
        f"bytes={stopped_at}-"]
    kept = part.stat().st_size
    assert 40_000_000 <= kept < hub.files[BIG].size and nothing_installed(home)

    hub.throttle_bps = None
    before = len(hub.requests)
    second = cli(home, hub, "models", "download", NAME, "--json")
    assert second.returncode == 0, second.stderr
    result = json.loads(second.stdout)
    assert result["resumed_bytes"] >= kept and result["revision"] == COMMIT and result["downloaded"]
    resumed = [r for r in hub.requests[before:] if r.method == "GET" and r.path.endswith(BIG)]
    assert [r.range for r in resumed] == [f"bytes={kept}-"]  # one request, from where the killed run stopped
    assert not scratch.exists() and registered(home) == [f"local/{NAME}"]

    indexed = cli(home, hub, "index", "add", str(docs), "--sync")
    assert indexed.returncode == 0, indexed.stderr
    asked = cli(home, hub, "ask", "How long are backups kept?", "--model", f"local/{NAME}", "--json")
    assert asked.returncode == 0, asked.stderr
    data = json.loads(asked.stdout)
    assert data["model"] == f"local/{NAME}"
    assert data["mode"] == "llm" or not data["fallback_reason"].startswith(("not_installed", "load_failed"))
    assert any("thirty days" in c["quote"] for c in data["citations"])


def test_a_wrong_checksum_is_refused_and_nothing_is_registered(home: Path, hub: FakeHub, catalog_file: Path) -> None:
    hub.corrupt.add("cpu-int8/model.onnx")  # an LFS file: checked by SHA-256
    where = paths(home)
    with pytest.raises(dl.DownloadError, match="model.onnx .* does not match the checksum"):
        dl.download(entry(catalog_file), "cpu", where.models_dir, where.models_catalog, endpoint=hub.url)
    assert nothing_installed(home) and hub.downloads(BIG) == []


def test_a_full_disk_is_refused_before_any_byte_is_fetched(home: Path, hub: FakeHub, catalog_file: Path) -> None:
    where = paths(home)
    with pytest.raises(dl.DownloadError, match=r"needs 5\d\d MB free .* only 300 MB is free"):
        dl.download(entry(catalog_file), "cpu", where.models_dir, where.models_catalog, endpoint=hub.url,
                    free_bytes=lambda _path: 300_000_000)
    assert [r for r in hub.requests if "/resolve/" in r.path] == [] and nothing_installed(home)


def test_a_hanging_hub_gives_a_clear_timeout_error_within_seconds(home: Path, hub: FakeHub) -> None:
    hub.hang = True
    result = cli(home, hub, "models", "download", NAME, HF_HUB_ETAG_TIMEOUT="2")
    assert result.returncode == 1
    assert f"the hub at {hub.url.removeprefix('http://')} did not answer within 2 s" in result.stderr
    assert "Traceback" not in result.stderr and nothing_installed(home)


def test_cancel_stops_mid_file_and_keeps_what_was_fetched(home: Path, hub: FakeHub, catalog_file: Path) -> None:
    cancel = threading.Event()
    seen: list[int] = []

    def progress(what: str, done: int, total: int) -> None:
        if what.endswith("model.onnx.data") and done > 20_000_000:
            seen.append(done)
            cancel.set()

    where = paths(home)
    with pytest.raises(dl.Cancelled, match="continues from there"):
        dl.download(entry(catalog_file), "cpu", where.models_dir, where.models_catalog, endpoint=hub.url,
                    progress=progress, cancel=cancel)
    (part,) = (where.models_dir / f".download-{NAME}-cpu" / "partial").glob("*.incomplete")
    assert 0 < part.stat().st_size < hub.files[BIG].size and len(seen) == 1  # stopped at the next chunk
    assert nothing_installed(home)


def test_offline_mode_is_refused_and_nothing_is_contacted(home: Path, hub: FakeHub) -> None:
    result = cli(home, hub, "models", "download", NAME, HF_HUB_OFFLINE="1")
    assert result.returncode == 1 and "offline mode is on" in result.stderr
    assert hub.requests == [] and nothing_installed(home)

"""`deskmate providers detect`, `models found` and `models import`, run as a user runs them: real processes, a
private Deskmate home and a private HOME holding an Ollama store and an LM Studio folder."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pytest

from agents.providers import default_model
from tests.support.fake_servers import (
    HangingServer,
    add_ollama_model,
    closed_port,
    fake_ollama,
    fake_openai,
    garbage_server,
    tiny_gguf,
)

REPO = Path(__file__).resolve().parents[2]
SHA = default_model.GGUF_SHA256
QUESTION = "What is the capital of France?"
LEAKY = ("DISPLAY", "WAYLAND_DISPLAY", "OLLAMA_MODELS", "HF_HOME", "HF_HUB_CACHE", "XDG_DATA_HOME", "LOCALAPPDATA",
         "APPDATA")


def _env(deskmate_home: Path, user_home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in LEAKY}
    env.update({"DESKMATE_HOME": str(deskmate_home), "HOME": str(user_home), "PYTHONPATH": str(REPO)})
    return env


def deskmate(deskmate_home: Path, user_home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "app", *args], env=_env(deskmate_home, user_home),
                          capture_output=True, text=True, timeout=600, cwd=REPO, stdin=subprocess.DEVNULL)


@pytest.fixture
def user_home(tmp_path: Path) -> Path:
    """A HOME with the packaged GGUF in Ollama's store (as smollm2) and in an LM Studio folder."""
    home = tmp_path / "user"
    gguf = default_model.locate_gguf()
    add_ollama_model(home / ".ollama" / "models", "smollm2", "latest", gguf, SHA)
    lms = home / ".lmstudio" / "models" / "HuggingFaceTB" / "SmolLM2-135M-Instruct-GGUF"
    lms.mkdir(parents=True)
    (lms / gguf.name).write_bytes(gguf.read_bytes())
    return home


def _registered(deskmate_home: Path) -> dict[str, dict[str, object]]:
    catalogue = deskmate_home / "config" / "models.toml"
    if not catalogue.exists():
        return {}
    return dict(tomllib.loads(catalogue.read_text(encoding="utf-8")).get("models", {}))


def _models_dir(deskmate_home: Path) -> Path:
    return deskmate_home / "data" / "models"


# ---- servers


def test_detect_lists_running_servers_and_adds_their_models(deskmate_home: Path, tmp_path: Path) -> None:
    with (fake_ollama(["smollm2:latest", "llama3.2:3b"]) as ollama, fake_openai(["qwen2.5-7b-instruct"]) as lms,
          garbage_server() as junk, HangingServer() as hang):
        settings = deskmate_home / "config" / "settings.toml"
        settings.parent.mkdir(parents=True)
        settings.write_text("[models.detect_servers]\n"
                            f'ollama = "{ollama.address}"\n'
                            f'lmstudio = "{lms.address}/v1"\n'
                            f'junk = "{junk.address}/v1"\n'
                            f'vllm = "{hang.address}/v1"\n'
                            f'jan = "http://127.0.0.1:{closed_port()}/v1"\n', encoding="utf-8")
        listed = deskmate(deskmate_home, tmp_path, "providers", "detect", "--json")
        assert _registered(deskmate_home) == {}  # listing registers nothing
        added = deskmate(deskmate_home, tmp_path, "providers", "detect", "--add")
    assert listed.returncode == 0, listed.stderr
    rows = {row["name"]: row for row in json.loads(listed.stdout)}
    assert set(rows) == {"ollama", "lmstudio", "junk"}  # the hanging and the closed one are not running
    assert rows["ollama"]["models"] == ["smollm2:latest", "llama3.2:3b"]
    assert rows["junk"]["models"] == [] and "not with a model list" in rows["junk"]["error"]
    assert added.returncode == 0, added.stderr
    assert f"added ollama/llama3.2:3b at {ollama.address}/v1" in added.stdout
    assert f"added lmstudio/qwen2.5-7b-instruct at {lms.address}/v1" in added.stdout
    models = _registered(deskmate_home)
    assert set(models) == {"ollama/smollm2:latest", "ollama/llama3.2:3b", "lmstudio/qwen2.5-7b-instruct"}
    assert models["ollama/llama3.2:3b"]["base_url"] == f"{ollama.address}/v1"
    assert models["ollama/llama3.2:3b"]["model"] == "llama3.2:3b" and models["ollama/llama3.2:3b"]["kind"] == "openai"


def test_detect_with_nothing_running_says_so(deskmate_home: Path, tmp_path: Path) -> None:
    settings = deskmate_home / "config" / "settings.toml"
    settings.parent.mkdir(parents=True)
    settings.write_text(f'[models.detect_servers]\nollama = "http://127.0.0.1:{closed_port()}"\n', encoding="utf-8")
    result = deskmate(deskmate_home, tmp_path, "providers", "detect")
    assert result.returncode == 0, result.stderr
    assert "no model server answered" in result.stdout and "ollama" in result.stdout


# ---- files


def test_found_lists_the_ollama_store_and_the_lmstudio_folder(deskmate_home: Path, user_home: Path,
                                                              tmp_path: Path) -> None:
    lms = user_home / ".lmstudio" / "models" / "HuggingFaceTB" / "SmolLM2-135M-Instruct-GGUF"
    (lms / "cut.gguf").write_bytes(default_model.locate_gguf().read_bytes()[:20_000_000])  # an interrupted download
    (lms / "elsewhere.gguf").symlink_to(default_model.locate_gguf())  # a link out of the folder: not followed
    result = deskmate(deskmate_home, user_home, "models", "found", "--json")
    assert result.returncode == 0, result.stderr
    found = {(m["source"], m["name"]): m for m in json.loads(result.stdout)}
    ollama = found[("ollama", "smollm2:latest")]
    assert ollama["architecture"] == "llama" and ollama["importable"] and ollama["import_as"] == "ollama:smollm2:latest"
    assert ollama["path"].endswith(f"sha256-{SHA}") and ollama["quantisation"] == "Q4_1"
    studio = found[("lmstudio", "HuggingFaceTB/SmolLM2-135M-Instruct-GGUF/SmolLM2-135M-Instruct.Q4_1.gguf")]
    assert studio["architecture"] == "llama" and studio["importable"] and studio["params"] == 134_515_008
    cut = found[("lmstudio", "HuggingFaceTB/SmolLM2-135M-Instruct-GGUF/cut.gguf")]
    assert cut["importable"] is False and "shorter than its tensors need" in cut["reason"]
    assert not any(name.endswith("elsewhere.gguf") for _, name in found)

    table = deskmate(deskmate_home, user_home, "models", "found")
    assert table.returncode == 0 and "deskmate models import ollama:smollm2:latest" in table.stdout


def test_an_unsupported_architecture_is_refused_before_any_conversion(deskmate_home: Path, tmp_path: Path) -> None:
    home = tmp_path / "user"
    folder = home / ".lmstudio" / "models" / "someone" / "odd"
    folder.mkdir(parents=True)
    (folder / "odd.gguf").write_bytes(tiny_gguf("mamba-x"))
    found = json.loads(deskmate(deskmate_home, home, "models", "found", "--json").stdout)
    assert [(m["architecture"], m["importable"]) for m in found] == [("mamba-x", False)]
    result = deskmate(deskmate_home, home, "models", "import", str(folder / "odd.gguf"), "--yes")
    assert result.returncode == 1
    assert "mamba-x" in result.stderr and "cannot be imported" in result.stderr and "Traceback" not in result.stderr
    models_dir = _models_dir(deskmate_home)
    assert not models_dir.exists() or not any(models_dir.iterdir())  # no scratch folder: nothing was started
    assert _registered(deskmate_home) == {}


def test_a_conversion_off_a_terminal_needs_yes(deskmate_home: Path, user_home: Path) -> None:
    result = deskmate(deskmate_home, user_home, "models", "import", "ollama:smollm2", "--precision", "int8")
    assert result.returncode == 1
    assert "pass --yes" in result.stderr and "about" in result.stderr and "RAM" in result.stderr
    models_dir = _models_dir(deskmate_home)
    assert not models_dir.exists() or not any(models_dir.iterdir())
    assert _registered(deskmate_home) == {}


# ---- conversions


def test_the_ollama_model_is_converted_checked_registered_and_answers(deskmate_home: Path, user_home: Path) -> None:
    result = deskmate(deskmate_home, user_home, "models", "import", "ollama:smollm2", "--precision", "int8",
                      "--yes", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["name"] == "local/smollm2" and data["kind"] == "gguf" and data["precision"] == "int8"
    assert "paris" in data["check_answer"].lower()
    assert data["plan"]["architecture"] == "llama" and data["plan"]["est_ram_bytes"] > 0
    path = Path(data["path"])
    assert path == _models_dir(deskmate_home) / "smollm2-cpu-int8"
    manifest = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["source"]["sha256"] == SHA and manifest["source"]["imported"] == "ollama:smollm2:latest"
    assert manifest["files"]["model.onnx.data"]["size"] == (path / "model.onnx.data").stat().st_size
    assert default_model.verify(path, full=True) == (True, "verified")
    assert [p.name for p in _models_dir(deskmate_home).iterdir()] == ["smollm2-cpu-int8"]  # no scratch left
    assert _registered(deskmate_home)["local/smollm2"]["path"] == str(path)

    answer = deskmate(deskmate_home, user_home, "generate", "--model", "local/smollm2", QUESTION, "--json")
    assert answer.returncode == 0, answer.stderr
    assert "Paris" in json.loads(answer.stdout)["text"]

    again = deskmate(deskmate_home, user_home, "models", "import", "ollama:smollm2", "--yes")
    assert again.returncode == 1 and "already exists" in again.stderr


def test_a_killed_conversion_leaves_nothing_registered(deskmate_home: Path, user_home: Path) -> None:
    lms = user_home / ".lmstudio" / "models" / "HuggingFaceTB" / "SmolLM2-135M-Instruct-GGUF"
    process = subprocess.Popen([sys.executable, "-m", "app", "models", "import", str(lms), "--name", "killed",
                                "--precision", "int8", "--yes"], env=_env(deskmate_home, user_home), cwd=REPO,
                               stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True)
    models_dir = _models_dir(deskmate_home)
    try:
        deadline = time.monotonic() + 120
        while not any((p / "build.log").exists() for p in models_dir.glob(".import-killed-*")):
            assert process.poll() is None and time.monotonic() < deadline, "the conversion never started"
            time.sleep(0.2)
    finally:
        os.killpg(process.pid, signal.SIGKILL)  # the command and the conversion it started
        process.wait(timeout=30)
    assert "local/killed" not in _registered(deskmate_home)
    assert [p.name for p in models_dir.iterdir() if not p.name.startswith(".")] == []


def test_an_onnx_genai_folder_is_registered_where_it_is(deskmate_home: Path, default_model_dir: Path,
                                                        tmp_path: Path) -> None:
    result = deskmate(deskmate_home, tmp_path, "models", "import", str(default_model_dir), "--name", "smol-onnx",
                      "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["kind"] == "onnx-genai" and data["name"] == "local/smol-onnx"
    assert Path(data["path"]) == default_model_dir.resolve() and not _models_dir(deskmate_home).exists()
    answer = deskmate(deskmate_home, tmp_path, "generate", "--model", "local/smol-onnx", QUESTION, "--json")
    assert answer.returncode == 0 and "Paris" in json.loads(answer.stdout)["text"]

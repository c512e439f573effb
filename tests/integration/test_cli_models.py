"""`deskmate models`, `providers` and `generate` run as a user runs them: a real process and a private home."""

from __future__ import annotations

import json
from pathlib import Path

from tests.integration.test_cli import deskmate
from tests.support.openai_server import OpenAIServer


def test_generate_json_reports_text_tokens_timing_and_device(installed_default_model: Path,
                                                             deskmate_home: Path) -> None:
    result = deskmate(deskmate_home, "generate", "What is the capital of France?", "--max-tokens", "20", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert "Paris" in data["text"]
    assert data["prompt_tokens"] > 5 and 0 < data["completion_tokens"] <= 20
    assert data["time_to_first_token_ms"] > 0 and data["tokens_per_s"] > 0
    assert data["execution_provider"] in ("cpu", "cuda", "dml")


def test_generate_streams_to_stdout_and_figures_go_to_stderr(installed_default_model: Path,
                                                             deskmate_home: Path) -> None:
    result = deskmate(deskmate_home, "generate", "What is the capital of France?", "--max-tokens", "20")
    assert result.returncode == 0, result.stderr
    assert "Paris" in result.stdout
    assert "tokens/s" in result.stderr and "tokens/s" not in result.stdout


def test_install_default_again_is_a_verified_no_op(installed_default_model: Path, deskmate_home: Path) -> None:
    result = deskmate(deskmate_home, "models", "install-default", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["installed"] is False and data["precision"] == "int8"


def test_generate_without_the_default_model_says_how_to_install_it(deskmate_home: Path) -> None:
    result = deskmate(deskmate_home, "generate", "hi")
    assert result.returncode == 1
    assert "deskmate models install-default" in result.stderr
    assert "Traceback" not in result.stderr


def test_models_list_shows_status_and_the_device_that_runs_each(installed_default_model: Path,
                                                                deskmate_home: Path) -> None:
    with OpenAIServer(model="m1") as server:
        added = deskmate(deskmate_home, "providers", "add", "lab", "--base-url", server.base_url, "--model", "m1",
                         "--size", "large", "--speed", "slow", "--context", "32768")
        assert added.returncode == 0, added.stderr
        dead = deskmate(deskmate_home, "providers", "add", "gone", "--base-url", "http://127.0.0.1:9/v1",
                        "--model", "x")
        assert dead.returncode == 0
        listed = deskmate(deskmate_home, "models", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    rows = {row["name"]: row for row in json.loads(listed.stdout)}
    assert rows["local/smollm2-135m"]["status"] == "ready" and rows["local/smollm2-135m"]["default"] is True
    assert rows["local/smollm2-135m"]["execution_provider"] in ("cpu", "cuda", "dml")
    assert rows["lab/m1"]["status"] == "ready" and rows["lab/m1"]["execution_provider"] == "remote"
    assert (rows["lab/m1"]["size"], rows["lab/m1"]["speed"], rows["lab/m1"]["context_length"]) == ("large", "slow",
                                                                                                    32768)
    assert rows["gone/x"]["status"] == "unreachable"


def test_models_add_registers_a_local_folder_and_refuses_a_bad_one(installed_default_model: Path,
                                                                   deskmate_home: Path, tmp_path: Path) -> None:
    added = deskmate(deskmate_home, "models", "add", "my-smol", str(installed_default_model), "--context", "2048")
    assert added.returncode == 0, added.stderr
    assert "local/my-smol" in added.stdout
    answer = deskmate(deskmate_home, "generate", "What is the capital of France?", "--model", "local/my-smol",
                      "--json")
    assert answer.returncode == 0 and "Paris" in json.loads(answer.stdout)["text"]

    empty = tmp_path / "not-a-model"
    empty.mkdir()
    refused = deskmate(deskmate_home, "models", "add", "broken", str(empty))
    assert refused.returncode == 1 and "genai_config.json" in refused.stderr
    catalogue = (deskmate_home / "config" / "models.toml").read_text(encoding="utf-8")
    assert "my-smol" in catalogue and "broken" not in catalogue  # nothing half-added


def test_an_unknown_model_name_lists_the_configured_ones(deskmate_home: Path) -> None:
    result = deskmate(deskmate_home, "generate", "hi", "--model", "nope/x")
    assert result.returncode == 1 and "configured models: local/smollm2-135m" in result.stderr


def test_the_overview_says_whether_the_default_model_is_ready(deskmate_home: Path) -> None:
    missing = deskmate(deskmate_home, "--home", str(deskmate_home))
    assert missing.returncode == 0 and "deskmate models install-default" in missing.stdout


def test_the_overview_reports_an_installed_default_model(installed_default_model: Path, deskmate_home: Path) -> None:
    ready = deskmate(deskmate_home)
    assert ready.returncode == 0 and "Model: local/smollm2-135m ready." in ready.stdout

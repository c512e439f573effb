"""`deskmate doctor` run as a user runs it: a real process, the real embedder and default model, a chosen PATH."""

from __future__ import annotations

import importlib.metadata
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO
from tools.index.embedder import OnnxEmbedder, prepare_model

NO_GPU = "no NVIDIA GPU found (nvidia-smi not found)"


@pytest.fixture
def home(deskmate_home: Path, onnx_embedder: OnnxEmbedder, models_dir: Path) -> Path:
    """A Deskmate home holding the embedder prepared once for the run (a link: preparing takes seconds)."""
    prepared = prepare_model(models_dir)
    target = deskmate_home / "data" / "models" / prepared.name
    target.parent.mkdir(parents=True, exist_ok=True)
    target.symlink_to(prepared)
    return deskmate_home


def doctor(home: Path, path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``deskmate doctor`` with PATH set to ``path`` alone: it decides whether an nvidia-smi is found."""
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env.update({"DESKMATE_HOME": str(home), "PYTHONPATH": str(REPO), "PATH": str(path)})
    return subprocess.run([sys.executable, "-m", "app", "doctor", *args], env=env, capture_output=True, text=True,
                          timeout=300, cwd=REPO)


def records(result: subprocess.CompletedProcess[str]) -> dict[str, dict[str, Any]]:
    assert result.returncode == 0, result.stderr
    return {r["component"]: r for r in json.loads(result.stdout)}


@pytest.fixture
def no_smi(tmp_path: Path) -> Path:
    folder = tmp_path / "no-nvidia-smi"
    folder.mkdir()
    return folder


@pytest.fixture
def fake_smi(tmp_path: Path) -> Path:
    """An nvidia-smi reporting an 8 GB card and a CUDA 13 driver, on a machine with no GPU at all."""
    folder = tmp_path / "fake-driver"
    folder.mkdir()
    script = folder / "nvidia-smi"
    script.write_text(
        "#!/bin/sh\n"
        'case "$1" in\n'
        "  --query-gpu=*) echo 'NVIDIA GeForce RTX 4060, 580.65.06, 8188, 7710' ;;\n"
        "  *) echo '| NVIDIA-SMI 580.65.06    Driver Version: 580.65.06    CUDA Version: 13.0 |' ;;\n"
        "esac\n", encoding="utf-8")
    script.chmod(0o755)
    return folder


pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="PATH and the fake nvidia-smi are POSIX")


def test_doctor_says_cpu_and_why_on_a_machine_without_a_gpu(installed_default_model: Path, home: Path,
                                                            no_smi: Path) -> None:
    found = records(doctor(home, no_smi, "--json"))
    assert set(found) == {"embedder", "model default", "gpu"}
    embedder, model, card = found["embedder"], found["model default"], found["gpu"]
    assert (embedder["device"], embedder["why_not_gpu"]) == ("cpu", NO_GPU)
    assert embedder["runtime"].startswith(("onnxruntime-gpu ", "onnxruntime "))
    assert (model["name"], model["device"], model["why_not_gpu"]) == ("local/smollm2-135m", "cpu", NO_GPU)
    assert model["runtime"].startswith("onnxruntime-genai")
    assert (card["device"], card["why_not_gpu"], card["vram_free_bytes"]) == ("none", NO_GPU, None)

    text = doctor(home, no_smi)
    assert text.returncode == 0, text.stderr
    lines = text.stdout.splitlines()
    assert lines[0].startswith("embedder") and f"on cpu, not the GPU: {NO_GPU}" in lines[0]
    assert lines[1].startswith("model default") and f"local/smollm2-135m on cpu, not the GPU: {NO_GPU}" in lines[1]
    assert lines[2].startswith("gpu") and NO_GPU in lines[2]


def test_doctor_without_the_default_model_says_how_to_install_it(home: Path, no_smi: Path) -> None:
    model = records(doctor(home, no_smi, "--json"))["model default"]
    assert model["device"] == "not installed"
    assert model["detail"] == "run `deskmate models install-default`"


def test_a_driver_without_the_cuda_libraries_says_how_to_get_them(installed_default_model: Path, home: Path,
                                                                 fake_smi: Path) -> None:
    try:
        importlib.metadata.version("nvidia-cublas")
    except importlib.metadata.PackageNotFoundError:
        pass
    else:
        pytest.skip("the CUDA libraries are installed here")
    found = records(doctor(home, fake_smi, "--json"))
    fix = "install them with `pip install -e '.[gpu]'` or rerun `bash packaging/setup.sh`"
    for component in ("embedder", "model default"):
        record = found[component]
        assert record["device"] == "cpu"
        assert record["why_not_gpu"].startswith("NVIDIA driver 580.65.06 found but the CUDA libraries are missing (")
        assert record["why_not_gpu"].endswith(fix)
        assert (record["gpu"], record["driver"], record["vram_free_bytes"]) == ("NVIDIA GeForce RTX 4060",
                                                                                "580.65.06", 7710 << 20)
    card = found["gpu"]
    assert (card["name"], card["device"]) == ("NVIDIA GeForce RTX 4060", "unusable")
    assert card["detail"] == "driver 580.65.06, CUDA 13.0, 8.1 GB free of 8.6 GB"

    text = doctor(home, fake_smi)
    assert "gpu" in text.stdout and "CUDA unusable: NVIDIA driver 580.65.06 found" in text.stdout
    assert "pip install -e '.[gpu]'" in text.stdout


def test_a_remote_large_model_is_named_by_address_and_not_contacted(home: Path, no_smi: Path) -> None:
    env = {**os.environ, "DESKMATE_HOME": str(home), "PYTHONPATH": str(REPO)}
    # Port 9 (discard) has nobody listening: contacting it would fail, and the doctor must not try.
    added = subprocess.run([sys.executable, "-m", "app", "providers", "add", "lab", "--base-url",
                            "http://127.0.0.1:9/v1", "--model", "m1"], env=env, capture_output=True, text=True,
                           timeout=120, cwd=REPO)
    assert added.returncode == 0, added.stderr
    settings = home / "config" / "settings.toml"
    settings.write_text('[models]\nlarge = "lab/m1"\ndevice = "cpu"\n', encoding="utf-8")
    found = records(doctor(home, no_smi, "--json"))
    large = found["model large"]
    assert (large["name"], large["device"]) == ("lab/m1", "remote")
    assert large["detail"] == "server at http://127.0.0.1:9/v1 (not contacted)"
    assert found["embedder"]["why_not_gpu"] == NO_GPU

    settings.write_text('[models]\nlarge = "nowhere/x"\n[embedder]\ndevice = "cpu"\n', encoding="utf-8")
    found = records(doctor(home, no_smi, "--json"))
    assert found["model large"]["device"] == "failed" and "nowhere/x" in found["model large"]["detail"]
    assert found["embedder"]["why_not_gpu"] == "device set to cpu in settings (embedder.device)"

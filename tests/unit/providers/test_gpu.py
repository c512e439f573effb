"""The GPU module without a GPU: a fake nvidia-smi on PATH, a fake CUDA preload, a fake GenAI runtime."""

from __future__ import annotations

import json
import shlex
import shutil
import sys
import warnings
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from agents.providers import genai
from agents.providers.genai import GenAIModel, RuntimeOptions
from agents.providers.manager import gpu
from tools.index import embedder

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="the fake nvidia-smi is a shell script")

HEADER = "| NVIDIA-SMI 580.65.06    Driver Version: 580.65.06    CUDA Version: {cuda}     |"


def fake_smi(folder: Path, query: str, *, status: int = 0, cuda: str = "13.0", hang: bool = False) -> Path:
    """An nvidia-smi that answers the query with ``query`` (or fails with ``status``, or never answers)."""
    folder.mkdir(parents=True, exist_ok=True)
    script = folder / "nvidia-smi"
    if hang:
        body = f"exec {shutil.which('sleep')} 30\n"  # PATH holds only the fake
    elif status:
        body = f"echo {shlex.quote(query)} >&2\nexit {status}\n"
    else:
        body = (f'case "$1" in\n  --query-gpu=*) printf \'%s\\n\' {shlex.quote(query)} ;;\n'
                f"  *) echo {shlex.quote(HEADER.format(cuda=cuda))} ;;\nesac\n")
    script.write_text("#!/bin/sh\n" + body, encoding="utf-8")
    script.chmod(0o755)
    return folder


@pytest.fixture(autouse=True)
def fresh(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts before the one preload attempt of the process."""
    monkeypatch.setattr(gpu, "_preload_result", [])
    monkeypatch.setattr(embedder, "_preload_result", [])


def on_path(monkeypatch: pytest.MonkeyPatch, folder: Path) -> None:
    monkeypatch.setenv("PATH", str(folder))


# -- gpu_facts ---------------------------------------------------------------------------------------------------------


def test_a_card_with_8_gb_is_read_with_driver_cuda_and_memory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    on_path(monkeypatch, fake_smi(tmp_path / "bin", "NVIDIA GeForce RTX 4060, 580.65.06, 8188, 7710", cuda="13.0"))
    cards = gpu.gpu_facts()
    assert cards == [gpu.GpuFacts("NVIDIA GeForce RTX 4060", "580.65.06", "13.0", 8188 << 20, 7710 << 20)]
    assert gpu.probe_gpus()[1] is None


def test_a_failing_nvidia_smi_means_no_gpu_and_says_what_it_said(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    said = "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver."
    on_path(monkeypatch, fake_smi(tmp_path / "bin", said, status=9))
    cards, why = gpu.probe_gpus()
    assert cards == [] and gpu.gpu_facts() == []
    assert why == f"no NVIDIA GPU found (nvidia-smi failed: {said})"


def test_an_absent_nvidia_smi_means_no_gpu(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "empty").mkdir()
    on_path(monkeypatch, tmp_path / "empty")
    assert gpu.probe_gpus() == ([], "no NVIDIA GPU found (nvidia-smi not found)")


def test_a_hanging_nvidia_smi_is_given_up_on(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    on_path(monkeypatch, fake_smi(tmp_path / "bin", "", hang=True))
    cards, why = gpu.probe_gpus(timeout_s=0.3)
    assert cards == [] and why == "no NVIDIA GPU found (nvidia-smi did not answer within 0.3 s)"


def test_parsing_two_cards_a_comma_in_a_name_and_unreported_memory() -> None:
    text = "NVIDIA A100-SXM4-80GB, 580.65.06, 81920, 81000\nNVIDIA GB10, Grace, 580.95.05, [N/A], [N/A]\n\n"
    first, second = gpu.parse_query(text, cuda="13.0")
    assert (first.name, first.vram_free_bytes) == ("NVIDIA A100-SXM4-80GB", 81000 << 20)
    assert (second.name, second.driver, second.vram_total_bytes) == ("NVIDIA GB10, Grace", "580.95.05", 0)


# -- preload -----------------------------------------------------------------------------------------------------------


def test_preload_without_a_gpu_returns_why_and_loads_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "empty").mkdir()
    on_path(monkeypatch, tmp_path / "empty")
    import onnxruntime

    def never(*_args: Any, **_kwargs: Any) -> None:
        raise AssertionError("no CUDA library may be loaded without a GPU")

    monkeypatch.setattr(onnxruntime, "preload_dlls", never)
    assert gpu.preload_cuda() == "no NVIDIA GPU found (nvidia-smi not found)"
    # The embedder's own hook stops at the same place: no driver, nothing loaded.
    assert embedder.preload_cuda_libraries() == "no NVIDIA driver found (nvidia-smi not found)"


def test_preload_runs_once_per_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    on_path(monkeypatch, fake_smi(tmp_path / "bin", "NVIDIA L4, 580.65.06, 23034, 22000"))
    import onnxruntime

    calls = []
    monkeypatch.setattr(onnxruntime, "preload_dlls", lambda *a, **k: calls.append(1))
    assert gpu.preload_cuda() is None
    assert gpu.preload_cuda() is None and embedder.preload_cuda_libraries() is None
    assert calls == [1]


def test_missing_cuda_libraries_name_the_fix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    on_path(monkeypatch, fake_smi(tmp_path / "bin", "NVIDIA L4, 580.65.06, 23034, 22000"))
    import onnxruntime

    def missing(*_args: Any, **_kwargs: Any) -> None:
        # What onnxruntime.preload_dlls prints (and warns) when the nvidia-* wheels are not installed.
        print("Failed to load libcublasLt.so.13: libcublasLt.so.13: cannot open shared object file")
        print("Failed to load /x/site-packages/nvidia/cu13/lib/libcudart.so.13: bad ELF")
        print("Please follow https://onnxruntime.ai/docs/install/#cuda-and-cudnn to install CUDA.")
        warnings.warn("Failed to register bundled CUDA plugin EP", stacklevel=1)

    monkeypatch.setattr(onnxruntime, "preload_dlls", missing)
    why = gpu.preload_cuda()
    assert why == ("NVIDIA driver 580.65.06 found but the CUDA libraries are missing (libcublasLt.so.13, "
                   "libcudart.so.13): install them with `pip install -e '.[gpu]'` or rerun `bash packaging/setup.sh`")


def test_a_preload_that_raises_is_a_reason_not_a_crash(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    on_path(monkeypatch, fake_smi(tmp_path / "bin", "NVIDIA L4, 580.65.06, 23034, 22000"))
    import onnxruntime

    def broken(*_args: Any, **_kwargs: Any) -> None:
        raise RuntimeError("Invalid parameter of directory")

    monkeypatch.setattr(onnxruntime, "preload_dlls", broken)
    assert gpu.preload_cuda() == "loading the CUDA libraries failed: Invalid parameter of directory"


def test_a_driver_too_old_for_the_runtime_says_update_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    on_path(monkeypatch, fake_smi(tmp_path / "bin", "NVIDIA T4, 535.104.05, 15360, 15000", cuda="12.2"))
    monkeypatch.setattr(embedder, "preload_cuda_libraries", lambda: None)
    monkeypatch.setattr(gpu, "cuda_needed", lambda: 13)
    assert gpu.preload_cuda() == ("the NVIDIA driver 535.104.05 runs CUDA up to 12.2, onnxruntime-gpu needs CUDA 13: "
                                  "update the NVIDIA driver")


def test_the_cuda_version_onnxruntime_gpu_needs_comes_from_its_extra() -> None:
    import importlib.metadata

    try:
        importlib.metadata.version("onnxruntime-gpu")
    except importlib.metadata.PackageNotFoundError:
        assert gpu.cuda_needed() is None
    else:
        assert gpu.cuda_needed() in (12, 13, 14)


# -- VRAM --------------------------------------------------------------------------------------------------------------

CARD = gpu.GpuFacts("NVIDIA GeForce RTX 4060", "580.65.06", "13.0", 8188 << 20, 7710 << 20)


def test_vram_check_fits_or_says_what_to_do() -> None:
    assert gpu.vram_check(4 * 10**9, [CARD]) is None
    assert gpu.vram_check(9 * 10**9, [CARD]) == (
        "does not fit in VRAM: 8.1 GB free on NVIDIA GeForce RTX 4060, the model needs 9.0 GB; "
        "use --device cpu or a smaller precision")
    assert gpu.vram_check(1, []) == "no NVIDIA GPU found: use --device cpu"


def test_vram_check_takes_the_card_with_the_most_free_and_trusts_unreported_memory() -> None:
    big = gpu.GpuFacts("NVIDIA RTX A6000", "580.65.06", "13.0", 48 << 30, 40 << 30)
    assert gpu.vram_check(30 * 10**9, [CARD, big]) is None
    unified = gpu.GpuFacts("NVIDIA GB10", "580.95.05", "13.0", 0, 0)
    assert gpu.vram_check(100 * 10**9, [unified]) is None


# -- GenAI: out of GPU memory falls back to the CPU --------------------------------------------------------------------


class FakeGenAI:
    """Just enough of onnxruntime_genai: CUDA runs out of memory while loading, the CPU works."""

    def __init__(self) -> None:
        self.opened: list[str] = []

    @staticmethod
    def is_cuda_available() -> bool:
        return True

    @staticmethod
    def is_dml_available() -> bool:
        return False

    def Config(self, _path: str) -> Any:  # noqa: N802 - the runtime's names
        config = SimpleNamespace(provider="cpu")
        config.clear_providers = lambda: None
        config.append_provider = lambda name: setattr(config, "provider", name)
        config.overlay = lambda _json: None
        return config

    def Model(self, config: Any) -> Any:  # noqa: N802
        self.opened.append(config.provider)
        if config.provider == "cuda":
            raise RuntimeError("CUDA failure 2: out of memory; GPU=0 file=cuda_allocator.cc")
        return SimpleNamespace(device_type="CPU")

    @staticmethod
    def Tokenizer(_model: Any) -> Any:  # noqa: N802
        return SimpleNamespace(encode=lambda text: [1, 2])


def model_folder(tmp_path: Path, weights_bytes: int) -> Path:
    folder = tmp_path / "big-model"
    folder.mkdir()
    (folder / "genai_config.json").write_text(json.dumps({"model": {"context_length": 4096}}), encoding="utf-8")
    with (folder / "model.onnx.data").open("wb") as handle:
        handle.truncate(weights_bytes)  # sparse: the size is what counts
    (folder / "model.onnx").write_bytes(b"\0" * 1000)
    return folder


def test_out_of_gpu_memory_while_loading_runs_on_the_cpu_and_says_why(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    on_path(monkeypatch, fake_smi(tmp_path / "bin", "NVIDIA GeForce RTX 4060, 580.65.06, 8188, 7710"))
    monkeypatch.setattr(embedder, "preload_cuda_libraries", lambda: None)
    fake = FakeGenAI()
    monkeypatch.setattr(genai, "_import_genai", lambda: fake)
    model = GenAIModel(model_folder(tmp_path, 9 * 10**9), RuntimeOptions(device="auto"))
    model.load()
    assert fake.opened == ["cuda", "cpu"]
    assert model.execution_provider == "cpu"
    assert model.fallback_reason == (
        "cuda: does not fit in VRAM: 8.1 GB free on NVIDIA GeForce RTX 4060, the model needs 9.0 GB; use --device "
        "cpu or a smaller precision (CUDA failure 2: out of memory; GPU=0 file=cuda_allocator.cc)")


def test_out_of_gpu_memory_with_room_by_the_numbers_still_says_so(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    on_path(monkeypatch, fake_smi(tmp_path / "bin", "NVIDIA GeForce RTX 4060, 580.65.06, 8188, 7710"))
    assert gpu.out_of_memory_reason(model_folder(tmp_path, 2 * 10**9)) == (
        "ran out of GPU memory (weights 2.0 GB); use --device cpu or a smaller precision")


def test_a_cuda_load_failure_records_why_the_libraries_were_not_loaded(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "empty").mkdir()
    on_path(monkeypatch, tmp_path / "empty")
    fake = FakeGenAI()

    def no_cuda(config: Any) -> Any:
        if config.provider == "cuda":
            raise RuntimeError("Cuda interface not available: Failed to load library: libcublasLt.so.13")
        return SimpleNamespace()

    fake.Model = no_cuda  # type: ignore[method-assign]
    monkeypatch.setattr(genai, "_import_genai", lambda: fake)
    model = GenAIModel(model_folder(tmp_path, 1000), RuntimeOptions(device="auto"))
    model.load()
    assert model.execution_provider == "cpu"
    assert model.fallback_reason == ("cuda: no NVIDIA GPU found (nvidia-smi not found) (Cuda interface not "
                                     "available: Failed to load library: libcublasLt.so.13)")

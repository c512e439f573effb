"""The real ONNX embedder from the packaged model: pooling, normalisation, batching, providers, identity."""

from __future__ import annotations

import shutil
from collections import namedtuple

import numpy as np
import pytest

from tools.errors import EmbedderError
from tools.index.embedder import DIMS, OnnxEmbedder, prepare_model


def test_vectors_are_normalised_and_meaningful(onnx_embedder):
    vectors = onnx_embedder.embed([
        "The wing stalls at a high angle of attack.",
        "At large incidence the airfoil loses lift.",
        "My grandmother bakes apple pie on Sundays.",
    ])
    assert vectors.shape == (3, DIMS) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    similar, unrelated = float(vectors[0] @ vectors[1]), float(vectors[0] @ vectors[2])
    assert similar > unrelated + 0.3, (similar, unrelated)


def test_batching_by_length_does_not_change_results_or_order(onnx_embedder):
    texts = [("word " * n).strip() + f" number {n}" for n in (3, 200, 1, 57, 120, 8, 300)]
    together = onnx_embedder.embed(texts)
    alone = np.stack([onnx_embedder.embed([t])[0] for t in texts])
    # Padding and batch composition may move the int8 kernels' rounding a little, never the meaning.
    assert np.min(np.sum(together * alone, axis=1)) > 0.99999


def test_long_text_is_truncated_not_rejected(onnx_embedder):
    assert onnx_embedder.embed(["token " * 5000]).shape == (1, DIMS)
    assert onnx_embedder.embed([]).shape == (0, DIMS)


def test_reports_the_provider_that_really_runs(onnx_embedder):
    assert onnx_embedder.execution_provider == "CPUExecutionProvider"


def test_auto_device_falls_back_to_cpu_with_a_reason(models_dir):
    embedder = OnnxEmbedder(models_dir, device="auto")
    provider = embedder.execution_provider
    assert provider in ("CPUExecutionProvider", "CUDAExecutionProvider")
    if provider == "CPUExecutionProvider":
        import onnxruntime as ort

        if "CUDAExecutionProvider" in ort.get_available_providers():
            assert embedder.fallback_reason  # listed but unusable: the reason is recorded


def test_forcing_cuda_without_a_gpu_is_a_clear_error(models_dir):
    embedder = OnnxEmbedder(models_dir, device="cuda")
    try:
        provider = embedder.execution_provider
    except EmbedderError as exc:
        assert "CUDA" in str(exc)
    else:
        assert provider == "CUDAExecutionProvider"  # a machine with a working GPU


def test_model_preparation_is_idempotent_and_leaves_no_temporaries(models_dir, onnx_embedder):
    first = prepare_model(models_dir)
    mtime = first.stat().st_mtime_ns
    assert prepare_model(models_dir) == first and first.stat().st_mtime_ns == mtime
    assert [p.name for p in models_dir.iterdir()] == [first.name]


def test_identity_is_stable(onnx_embedder, models_dir):
    identity = onnx_embedder.identity
    assert identity.dims == DIMS and len(identity.key) == 12
    assert identity.key == OnnxEmbedder(models_dir).identity.key  # the folder the session's embedder was made from


@pytest.mark.parametrize("texts", [["x"], ["a much longer sentence about aerodynamics " * 10]])
def test_token_counts_exclude_special_tokens(onnx_embedder, texts):
    counts = onnx_embedder.count_tokens(texts)
    assert counts[0] >= 1 and counts[0] == len(onnx_embedder._counter.encode(texts[0], add_special_tokens=False).ids)


def test_a_full_disk_is_said_before_preparing(tmp_path, monkeypatch):
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda _path: usage(10 << 20, 9 << 20, 1 << 20))
    with pytest.raises(EmbedderError, match="not enough free disk space .* 1 MB are free"):
        prepare_model(tmp_path / "models")
    assert not list((tmp_path / "models").iterdir())  # nothing half-written left behind

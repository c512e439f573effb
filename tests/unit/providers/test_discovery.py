"""Finding the models a user already has: running servers, model files and their GGUF headers, import plans."""

from __future__ import annotations

import importlib.util
import os
import re
import struct
from pathlib import Path

import pytest

from agents.providers import default_model
from agents.providers.manager import discovery, gguf_header, importer
from agents.providers.manager.discovery import scan_disk
from agents.providers.manager.gguf_header import GgufError, read_gguf
from tests.support.fake_servers import (
    ARRAY,
    STRING,
    U32,
    HangingServer,
    add_ollama_model,
    closed_port,
    fake_ollama,
    fake_openai,
    garbage_server,
    gguf_bytes,
    tiny_gguf,
)
from tools.errors import ConfigError

SHA = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
GB = 10**9
TINY_DATA = 64 * 32 * 4 + 64 * 4 + 64 * 64 * 4  # the zero weights at the end of tiny_gguf()


# ---- the GGUF header reader


def test_reads_the_packaged_gguf_header() -> None:
    info = read_gguf(default_model.locate_gguf())
    assert (info.architecture, info.file_type, info.size_label) == ("llama", "Q4_1", "135M")
    assert info.params == 134_515_008 and info.embedding_params == 49152 * 576
    assert info.context_length == 8192 and info.has_chat_template and info.split_count == 1
    assert gguf_header.gguf_verdict(info) == (True, "llama, 135M parameters, Q4_1")


def test_reads_a_hand_made_header(tmp_path: Path) -> None:
    file = tmp_path / "t.gguf"
    file.write_bytes(tiny_gguf("qwen2", tensor_type=8))
    info = read_gguf(file)
    assert info.architecture == "qwen2" and info.params == 64 * 32 + 64 + 64 * 64
    assert info.tensor_types == ("F32", "Q8_0") and info.context_length == 2048
    assert gguf_header.gguf_verdict(info)[0] is True


def _hostile() -> dict[str, bytes]:
    good = tiny_gguf()
    arch = [("general.architecture", STRING, "llama")]
    huge_string = b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + struct.pack("<Q", 2**62) + b"general.architecture"
    huge_array = (b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + struct.pack("<Q", 4) + b"toks"
                  + struct.pack("<IIQ", ARRAY, STRING, 2**60) + b"\0" * 64)
    nested = b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + struct.pack("<Q", 1) + b"k" + struct.pack("<I", ARRAY)
    nested += struct.pack("<IQ", ARRAY, 1) * 10 + b"\0" * 64
    many_dims = (b"GGUF" + struct.pack("<IQQ", 3, 1, 0) + struct.pack("<Q", 1) + b"t" + struct.pack("<I", 1000)
                 + b"\0" * 8000)
    return {
        "empty": b"",
        "wrong magic": b"GGML" + good[4:],
        "text file": b"this is a text file, not a model\n" * 10,
        "version 1": b"GGUF" + struct.pack("<I", 1) + good[8:],
        "version 99": b"GGUF" + struct.pack("<I", 99) + good[8:],
        "cut in the magic": good[:3],
        "cut in the counts": good[:20],
        "cut in the metadata": good[:120],
        "cut in the tensors": good[: len(good) - TINY_DATA - 40],
        "data missing": gguf_bytes(arch, [("token_embd.weight", [4096, 4096], 0)], with_data=False),
        "huge string length": huge_string,
        "huge array count": huge_array,
        "huge key count": b"GGUF" + struct.pack("<IQQ", 3, 0, 2**63) + b"\0" * 64,
        "huge tensor count": b"GGUF" + struct.pack("<IQQ", 3, 2**62, 0) + b"\0" * 64,
        "nested arrays": nested,
        "unknown value type": (b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + struct.pack("<Q", 1) + b"k"
                               + struct.pack("<I", 77) + b"\0" * 8),
        "a thousand dimensions": many_dims,
        "impossible shape": (b"GGUF" + struct.pack("<IQQ", 3, 1, 0) + struct.pack("<Q", 1) + b"t"
                             + struct.pack("<I", 2) + struct.pack("<QQ", 2**60, 2**60) + struct.pack("<IQ", 0, 0)),
        "bad alignment": gguf_bytes([("general.alignment", U32, 0)]),
    }


@pytest.mark.parametrize("case", sorted(_hostile()))
def test_hostile_or_damaged_headers_are_refused_with_a_reason(case: str, tmp_path: Path) -> None:
    file = tmp_path / "x.gguf"
    file.write_bytes(_hostile()[case])
    with pytest.raises(GgufError) as caught:
        read_gguf(file)
    assert str(caught.value)  # says why
    found = discovery._gguf_model("file", "x", file)
    assert found is not None and found.importable is False and found.reason.startswith("damaged or not a GGUF")


def test_a_header_larger_than_the_limit_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(gguf_header, "MAX_HEADER_BYTES", 4096)
    file = tmp_path / "big.gguf"
    file.write_bytes(tiny_gguf(extra=[("tokenizer.ggml.merges", ARRAY, (STRING, ["a b"] * 2000))]))
    with pytest.raises(GgufError, match="larger than"):
        read_gguf(file)


def test_the_block_size_table_matches_ggml() -> None:
    constants = pytest.importorskip("gguf.constants")
    for kind, (name, block, width) in gguf_header.GGML_TYPES.items():
        quant = constants.GGMLQuantizationType(kind)
        assert quant.name == name and constants.GGML_QUANT_SIZES[quant] == (block, width)


def test_supported_architectures_are_ones_both_the_gguf_loader_and_the_onnx_builder_take() -> None:
    pytest.importorskip("transformers")
    from transformers import AutoModelForCausalLM
    from transformers.modeling_gguf_pytorch_utils import GGUF_SUPPORTED_ARCHITECTURES
    from transformers.models.auto.configuration_auto import CONFIG_MAPPING

    spec = importlib.util.find_spec("onnxruntime_genai")
    assert spec is not None and spec.submodule_search_locations
    builder = Path(next(iter(spec.submodule_search_locations)), "models", "builder.py").read_text(encoding="utf-8")
    converts = set(re.findall(r'config\.architectures\[0\] == "(\w+)"', builder))
    for arch, cls in gguf_header.SUPPORTED_ARCHITECTURES.items():
        assert arch in GGUF_SUPPORTED_ARCHITECTURES, arch
        model_type = {"gemma3": "gemma3_text"}.get(arch, arch)
        assert getattr(AutoModelForCausalLM._model_mapping[CONFIG_MAPPING[model_type]], "__name__", None) == cls
        assert cls in converts, cls


def test_an_unsupported_architecture_is_not_importable(tmp_path: Path) -> None:
    file = tmp_path / "m.gguf"
    file.write_bytes(tiny_gguf("mamba-x"))
    ok, reason = gguf_header.gguf_verdict(read_gguf(file))
    assert ok is False and "mamba-x" in reason and "llama" in reason


@pytest.mark.parametrize(("extra", "words"), [
    ([("general.type", STRING, "mmproj")], "not a language model"),
    ([("split.count", U32, 3)], "split into 3 files"),
])
def test_projectors_and_split_files_are_not_importable(extra: list[tuple[str, int, object]], words: str,
                                                       tmp_path: Path) -> None:
    file = tmp_path / "m.gguf"
    file.write_bytes(tiny_gguf(extra=extra))
    ok, reason = gguf_header.gguf_verdict(read_gguf(file))
    assert ok is False and words in reason


# ---- files on disk


def _home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    home.mkdir()
    return home


def test_scan_finds_every_store_and_skips_what_it_must(tmp_path: Path) -> None:
    home = _home(tmp_path)
    add_ollama_model(home / ".ollama" / "models", "tiny", "latest", tiny_gguf(), "a" * 64)
    add_ollama_model(home / ".ollama" / "models", "coder", "1b", tiny_gguf("qwen2"), "b" * 64, namespace="someone")
    lms = home / ".lmstudio" / "models" / "pub" / "Repo-GGUF"
    lms.mkdir(parents=True)
    (lms / "repo.Q4_K_M.gguf").write_bytes(tiny_gguf("phi3"))
    (lms / "broken.gguf").write_bytes(b"GGUF" + b"\xff" * 10)
    (lms / "README.md").write_text("not a model")
    (lms / "mamba.gguf").write_bytes(tiny_gguf("mamba-x"))
    outside = tmp_path / "elsewhere.gguf"
    outside.write_bytes(tiny_gguf())
    (lms / "link-out.gguf").symlink_to(outside)
    os.mkfifo(lms / "pipe.gguf")  # opening it would block forever
    (lms / "folder.gguf").mkdir()
    (lms / "loop").symlink_to(lms, target_is_directory=True)
    gpt = home / ".local" / "share" / "nomic.ai" / "GPT4All"
    gpt.mkdir(parents=True)
    (gpt / "gpt.gguf").write_bytes(tiny_gguf("gemma2"))
    jan = home / "jan" / "models" / "tiny-jan"
    jan.mkdir(parents=True)
    (jan / "model.gguf").write_bytes(tiny_gguf("qwen3"))

    found = {(m.source, m.name): m for m in scan_disk(home=home, env={})}

    assert found[("ollama", "tiny:latest")].architecture == "llama"
    assert found[("ollama", "tiny:latest")].import_as == "ollama:tiny:latest"
    assert found[("ollama", "someone/coder:1b")].importable
    assert found[("lmstudio", "pub/Repo-GGUF/repo.Q4_K_M.gguf")].architecture == "phi3"
    assert found[("lmstudio", "pub/Repo-GGUF/broken.gguf")].importable is False
    assert "mamba-x" in found[("lmstudio", "pub/Repo-GGUF/mamba.gguf")].reason
    assert found[("gpt4all", "gpt.gguf")].architecture == "gemma2"
    assert found[("jan", "tiny-jan/model.gguf")].architecture == "qwen3"
    names = {name for _, name in found}
    assert not any(n.endswith(("link-out.gguf", "pipe.gguf", "folder.gguf", "README.md")) for n in names)
    assert len(found) == 7


def test_environment_variables_move_the_stores(tmp_path: Path) -> None:
    home = _home(tmp_path)
    store = tmp_path / "ollama-store"
    add_ollama_model(store, "moved", "latest", tiny_gguf(), "c" * 64)
    add_ollama_model(home / ".ollama" / "models", "default-place", "latest", tiny_gguf(), "d" * 64)
    names = {m.name for m in scan_disk(home=home, env={"OLLAMA_MODELS": str(store)})}
    assert "moved:latest" in names and "default-place:latest" not in names


def test_hugging_face_cache_onnx_folders_and_ggufs(tmp_path: Path) -> None:
    home = _home(tmp_path)
    hub = tmp_path / "hf" / "hub"
    repo = hub / "models--microsoft--Phi-3-mini-4k-instruct-onnx"
    sub = repo / "snapshots" / ("e" * 40) / "cpu_and_mobile" / "cpu-int4"
    sub.mkdir(parents=True)
    blobs = repo / "blobs"
    blobs.mkdir()
    (blobs / "1111").write_text('{"model": {"type": "phi3", "decoder": {"filename": "model.onnx"}}}')
    (blobs / "2222").write_bytes(b"onnx" * 100)
    (sub / "genai_config.json").symlink_to(blobs / "1111")  # the cache links snapshots to its blobs
    (sub / "model.onnx").symlink_to(blobs / "2222")
    gguf_repo = hub / "models--bartowski--Qwen-GGUF" / "snapshots" / ("f" * 40)
    gguf_repo.mkdir(parents=True)
    (gguf_repo / "qwen.Q4_0.gguf").write_bytes(tiny_gguf("qwen2"))
    incomplete = hub / "models--x--broken" / "snapshots" / ("0" * 40)
    incomplete.mkdir(parents=True)
    (incomplete / "genai_config.json").write_text('{"model": {"decoder": {"filename": "missing.onnx"}}}')

    found = {m.name: m for m in scan_disk(home=home, env={"HF_HOME": str(tmp_path / "hf")})}

    onnx = found["microsoft/Phi-3-mini-4k-instruct-onnx/cpu_and_mobile/cpu-int4"]
    assert onnx.format == "onnx-genai" and onnx.importable and onnx.architecture == "phi3"
    assert onnx.path == sub and onnx.size_bytes == 400 + len((blobs / "1111").read_bytes())
    assert found["bartowski/Qwen-GGUF/qwen.Q4_0.gguf"].architecture == "qwen2"
    assert found["x/broken"].importable is False and "missing.onnx" in found["x/broken"].reason


def test_ollama_names_resolve_like_ollama_list_shows_them(tmp_path: Path) -> None:
    home = _home(tmp_path)
    store = home / ".ollama" / "models"
    blob = add_ollama_model(store, "smollm2", "latest", tiny_gguf(), "a" * 64)
    add_ollama_model(store, "smollm2", "135m", tiny_gguf(), "b" * 64)
    assert discovery.resolve_ollama("smollm2", home, {}) == ("smollm2:latest", blob)
    assert discovery.resolve_ollama("SmolLM2:135m", home, {})[0] == "smollm2:135m"
    with pytest.raises(LookupError, match="smollm2:135m, smollm2:latest"):
        discovery.resolve_ollama("llama3.2", home, {})


def test_an_ollama_manifest_pointing_out_of_the_store_is_skipped(tmp_path: Path) -> None:
    home = _home(tmp_path)
    store = home / ".ollama" / "models"
    blob = add_ollama_model(store, "evil", "latest", tiny_gguf(), "a" * 64)
    blob.unlink()
    target = tmp_path / "secret.gguf"
    target.write_bytes(tiny_gguf())
    blob.symlink_to(target)
    bad = store / "manifests" / "registry.ollama.ai" / "library" / "junk" / "latest"
    bad.parent.mkdir(parents=True)
    bad.write_text('{"layers": [{"mediaType": "application/vnd.ollama.image.model", "digest": "../../etc"}]}')
    assert scan_disk(home=home, env={}) == []


# ---- servers


def test_detect_finds_running_servers_and_ignores_closed_and_hanging_ones() -> None:
    with (fake_ollama(["llama3.2:3b", "smollm2:latest"]) as ollama, fake_openai(["qwen2.5-7b-instruct"]) as lms,
          garbage_server() as junk, HangingServer() as hang):
        servers = {"ollama": ollama.address, "lmstudio": f"{lms.address}/v1", "junk": f"{junk.address}/v1",
                   "hang": f"{hang.address}/v1", "closed": f"http://127.0.0.1:{closed_port()}/v1"}
        found = {s.name: s for s in discovery.detect_servers(servers, timeout_s=0.3)}
    assert set(found) == {"ollama", "lmstudio", "junk"}
    assert found["ollama"].models == ["llama3.2:3b", "smollm2:latest"]
    assert found["ollama"].base_url == f"{ollama.address}/v1" and found["ollama"].error is None
    assert found["lmstudio"].models == ["qwen2.5-7b-instruct"] and found["lmstudio"].base_url == f"{lms.address}/v1"
    assert found["junk"].models == [] and "not with a model list" in (found["junk"].error or "")
    assert ollama.requests == ["/api/tags"] and lms.requests == ["/v1/models"]  # one request each, no retries


def test_detect_reports_an_error_status_and_a_bad_address() -> None:
    with fake_openai([]) as server:
        found = discovery.detect_servers({"wrong-path": f"{server.address}/nope", "bad": "ftp://x"})
    errors = {s.name: s.error for s in found}
    assert "HTTP 404" in (errors["wrong-path"] or "") and "not an http(s) address" in (errors["bad"] or "")
    assert discovery.detect_servers({}) == []


# ---- import plans


def _lmstudio_file(home: Path, data: bytes, name: str = "m.gguf") -> Path:
    folder = home / ".lmstudio" / "models" / "pub" / "repo"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(data)
    return folder / name


def test_plan_for_the_packaged_gguf_is_an_honest_estimate(tmp_path: Path) -> None:
    plan = importer.plan_import(default_model.locate_gguf(), "int8", None, models_dir=tmp_path,
                                ram_bytes=16 * GB, free_bytes=100 * GB)
    assert plan.supported and plan.kind == "gguf" and plan.architecture == "llama"
    assert plan.name == "smollm2-135m-instruct.q4_1" and plan.work_dtype == "float32"
    assert 30 < plan.est_seconds < 120  # 45 s measured
    assert 200e6 < plan.est_disk_bytes < 320e6  # 271 MB measured
    assert 1.5e9 < plan.est_ram_bytes < 2.6e9  # 2.0 GB peak measured
    assert "about" in plan.summary() and "local/smollm2-135m-instruct.q4_1" in plan.summary()
    int4 = importer.plan_import(default_model.locate_gguf(), "int4", "small", ram_bytes=16 * GB)
    assert int4.name == "small" and int4.est_disk_bytes < plan.est_disk_bytes


def test_too_little_ram_or_disk_is_refused_up_front_and_float16_used_when_it_helps(tmp_path: Path) -> None:
    gguf = default_model.locate_gguf()
    tight = importer.plan_import(gguf, "int8", None, ram_bytes=int(2.2 * GB))
    assert tight.supported and tight.work_dtype == "float16" and "float16" in tight.reason
    small = importer.plan_import(gguf, "int8", None, ram_bytes=1 * GB)
    assert not small.supported and "RAM" in small.reason
    full = importer.plan_import(gguf, "int8", None, models_dir=tmp_path, ram_bytes=16 * GB, free_bytes=10**8)
    assert not full.supported and "free disk" in full.reason


def test_plan_refuses_unsupported_and_damaged_files_and_explains(tmp_path: Path) -> None:
    home = _home(tmp_path)
    mamba = importer.plan_import(_lmstudio_file(home, tiny_gguf("mamba-x")), "int8", None)
    assert not mamba.supported and "mamba-x" in mamba.reason and "cannot be imported" in mamba.summary()
    broken = importer.plan_import(_lmstudio_file(home, b"GGUF\x03\x00", "b.gguf"), "int8", None)
    assert not broken.supported and "damaged" in broken.reason
    with pytest.raises(ConfigError, match="does not exist"):
        importer.plan_import(tmp_path / "nothing.gguf", "int8", None)
    with pytest.raises(ConfigError, match="2 GGUF files"):
        importer.plan_import(_lmstudio_file(home, tiny_gguf()).parent, "int8", None)
    with pytest.raises(ConfigError, match="not a usable model name"):
        importer.plan_import(default_model.locate_gguf(), "int8", "../escape")
    with pytest.raises(ConfigError, match="no Ollama model"):
        importer.plan_import("ollama:nothing", "int8", None, home=home, env={})


def test_plan_resolves_ollama_names_and_onnx_folders(tmp_path: Path) -> None:
    home = _home(tmp_path)
    blob = add_ollama_model(home / ".ollama" / "models", "tiny", "latest", tiny_gguf(), "a" * 64)
    plan = importer.plan_import("ollama:tiny", "int4", None, home=home, env={}, ram_bytes=16 * GB)
    assert (plan.path, plan.name, plan.source, plan.source_sha256) == (blob, "tiny", "ollama:tiny:latest", "a" * 64)
    folder = tmp_path / "onnx"
    folder.mkdir()
    (folder / "genai_config.json").write_text('{"model": {"type": "llama", "decoder": {"filename": "model.onnx"}}}')
    (folder / "model.onnx").write_bytes(b"x")
    onnx = importer.plan_import(folder, "int4", "mine")
    assert onnx.kind == "onnx-genai" and onnx.supported and onnx.est_disk_bytes == 0 and onnx.precision is None


def test_import_refuses_an_unsupported_plan_or_a_taken_name_before_any_work(tmp_path: Path) -> None:
    home = _home(tmp_path)
    models_dir, catalog_file = tmp_path / "models", tmp_path / "models.toml"
    mamba = importer.plan_import(_lmstudio_file(home, tiny_gguf("mamba-x")), "int8", None)
    with pytest.raises(ConfigError, match="mamba-x"):
        importer.import_model(mamba, models_dir, catalog_file)
    taken = importer.plan_import(default_model.locate_gguf(), "int8", "smollm2-135m", ram_bytes=16 * GB)
    with pytest.raises(ConfigError, match="already exists"):
        importer.import_model(taken, models_dir, catalog_file)
    assert not models_dir.exists() and not catalog_file.exists()


def test_scratch_folders_of_dead_imports_are_removed(tmp_path: Path) -> None:
    dead, alive = tmp_path / ".import-x-999999999", tmp_path / f".import-y-{os.getpid()}"
    dead.mkdir()
    alive.mkdir()
    importer._remove_stale_scratch(tmp_path)
    assert not dead.exists() and alive.exists()


def test_the_export_step_refuses_an_unknown_dtype(tmp_path: Path) -> None:
    from agents.providers import gguf_export

    with pytest.raises(SystemExit) as caught:
        gguf_export.main([str(tmp_path / "x.gguf"), str(tmp_path / "out"), "--dtype", "int3"])
    assert caught.value.code == 2 and not (tmp_path / "out").exists()

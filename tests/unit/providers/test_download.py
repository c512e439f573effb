"""Catalog downloads against a local fake hub serving tiny files: the model check is a stub, so these run in seconds."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import filelock
import pytest

from agents.providers import catalog as user_catalog
from agents.providers.manager import download as dl
from agents.providers.manager.catalog import CatalogEntry, Variant
from agents.providers.spec import ModelSpec
from tests.support.fake_hub import COMMIT, FakeHub
from tools.errors import ConfigError

BIG = 25 * 1024 * 1024  # above huggingface_hub's 10 MB read chunk, so a resume starts past 0


def _check(path: Path, name: str, device: str) -> str:
    assert (path / "genai_config.json").is_file()
    return "Paris."


def entry(revision: str | None = COMMIT, name: str = "tiny") -> CatalogEntry:
    return CatalogEntry(
        name=name, title="Tiny", publisher="test", repo="test/tiny", revision=revision, verified=revision is not None,
        params_b=3.8, ram_gb=1.0, vram_gb=None, context_length=4096, licence="MIT", good_at="tests",
        card_url="https://example.invalid/tiny",
        variants=[Variant(device="cpu", precision="int4", subfolder="cpu-int4", size_bytes=BIG)])


@pytest.fixture
def hub() -> Iterator[FakeHub]:
    with FakeHub("test/tiny") as server:
        server.add_file("README.md", b"# tiny\n")
        server.add_file("cpu-int4/genai_config.json", json.dumps({"model": {"context_length": 2048}}).encode())
        server.add_file("cpu-int4/tokenizer.json", b'{"version": "1.0"}')
        server.add_file("cpu-int4/sub/extra.txt", b"nested file\n")
        server.add_file("cpu-int4/model.onnx", b"onnx" * 1000, lfs=True)
        server.add_file("cpu-int4/model.onnx.data", os.urandom(BIG), lfs=True)
        server.add_file("cuda-int4/genai_config.json", b"{}")
        yield server


@pytest.fixture
def where(tmp_path: Path) -> tuple[Path, Path]:
    return tmp_path / "models", tmp_path / "config" / "models.toml"


def run(hub: FakeHub, where: tuple[Path, Path], item: CatalogEntry | None = None,
        **kwargs: object) -> dl.DownloadResult:
    models_dir, models_toml = where
    return dl.download(item or entry(), "cpu", models_dir, models_toml, endpoint=hub.url, check=_check,
                       timeout_s=kwargs.pop("timeout_s", 5), **kwargs)  # type: ignore[arg-type]


def nothing_installed(where: tuple[Path, Path]) -> bool:
    models_dir, models_toml = where
    return user_catalog.load(models_toml) == [] and not (models_dir / "tiny-cpu-int4").exists()


def test_download_verifies_writes_a_manifest_and_registers(hub: FakeHub, where: tuple[Path, Path]) -> None:
    seen: list[tuple[str, int, int]] = []
    result = run(hub, where, progress=lambda what, done, total: seen.append((what, done, total)))
    models_dir, models_toml = where
    final = models_dir / "tiny-cpu-int4"
    assert result.path == final and result.name == "local/tiny" and result.revision == COMMIT
    assert result.check_answer == "Paris." and result.resumed_bytes == 0 and result.downloaded
    assert (final / "sub" / "extra.txt").read_bytes() == b"nested file\n"
    assert not (final / "README.md").exists()  # outside the variant's folder
    assert json.loads((final / "genai_config.json").read_text())["model"]["context_length"] == 2048
    manifest = json.loads((final / "manifest.json").read_text())
    assert manifest["source"]["revision"] == COMMIT and manifest["source"]["subfolder"] == "cpu-int4"
    assert manifest["source"]["endpoint"] == hub.url.removeprefix("http://")
    assert manifest["files"]["model.onnx.data"]["sha256"] == hub.files["cpu-int4/model.onnx.data"].sha256
    assert set(manifest["files"]) == {"genai_config.json", "tokenizer.json", "sub/extra.txt", "model.onnx",
                                      "model.onnx.data"}
    assert [p.is_dir() for p in models_dir.glob(".download-*")] == [False]  # scratch gone, the empty lock file stays
    (spec,) = user_catalog.load(models_toml)
    # 3.8B parameters: a medium model; the context is what genai_config.json allows
    assert (spec.name, spec.path, spec.size, spec.speed, spec.context_length) == ("local/tiny", final, "medium",
                                                                                   "medium", 2048)
    total = sum(f.size for p, f in hub.files.items() if p.startswith("cpu-int4/"))
    assert result.size_bytes == total and seen[-1][1:] == (total, total)
    done = [d for what, d, _ in seen if what.startswith("downloading")]
    assert done == sorted(done) and len(done) > 6  # the big file reports more than once
    assert dl.installed(models_dir) == [final]
    # no hf-xet, no tree or cache calls: only the model info and the files
    assert all(r.path.startswith(("/api/models/test/tiny/revision/", "/test/tiny/resolve/")) for r in hub.requests)

    asked = len(hub.requests)
    again = run(hub, where)
    assert again.downloaded is False and again.path == final and len(hub.requests) == asked  # pinned: no network


def test_an_installed_pinned_model_needs_no_network_even_offline(hub: FakeHub, where: tuple[Path, Path],
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    first = run(hub, where)
    _, models_toml = where
    models_toml.unlink()  # registration lost (say, a crash right after the rename): a rerun restores it
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    asked = len(hub.requests)
    again = run(hub, where)
    assert (again.downloaded, again.path, again.revision) == (False, first.path, COMMIT)
    assert [s.name for s in user_catalog.load(models_toml)] == ["local/tiny"] and len(hub.requests) == asked


def test_an_unverified_entry_records_the_commit_its_branch_resolved_to(hub: FakeHub,
                                                                        where: tuple[Path, Path]) -> None:
    result = run(hub, where, entry(revision=None))
    assert result.revision == COMMIT
    assert any(r.path == "/api/models/test/tiny" for r in hub.requests)
    assert json.loads((result.path / "manifest.json").read_text())["source"]["revision"] == COMMIT


def test_a_dropped_connection_resumes_with_a_range_request(hub: FakeHub, where: tuple[Path, Path]) -> None:
    hub.drop_after["cpu-int4/model.onnx.data"] = 15 * 1024 * 1024
    result = run(hub, where)
    assert max(hub.range_starts("cpu-int4/model.onnx.data")) >= 10 * 1024 * 1024
    data = (result.path / "model.onnx.data").read_bytes()
    assert data == hub.files["cpu-int4/model.onnx.data"].data


def test_cancel_keeps_the_partial_file_and_the_next_run_resumes(hub: FakeHub, where: tuple[Path, Path]) -> None:
    cancel = threading.Event()

    def progress(what: str, done: int, total: int) -> None:
        if what.endswith("model.onnx.data") and done > 9_000_000:
            cancel.set()

    with pytest.raises(dl.Cancelled, match="continues from there"):
        run(hub, where, progress=progress, cancel=cancel)
    assert nothing_installed(where)
    models_dir, _ = where
    (partial,) = (models_dir / ".download-tiny-cpu" / "partial").glob("*.incomplete")
    kept = partial.stat().st_size
    assert 0 < kept < BIG

    result = run(hub, where)
    assert result.resumed_bytes >= kept
    assert max(hub.range_starts("cpu-int4/model.onnx.data")) > 0
    assert (result.path / "model.onnx.data").read_bytes() == hub.files["cpu-int4/model.onnx.data"].data


@pytest.mark.parametrize("bad", ["cpu-int4/model.onnx", "cpu-int4/tokenizer.json"])  # LFS SHA-256, git blob id
def test_a_wrong_checksum_is_refused_and_nothing_is_registered(hub: FakeHub, where: tuple[Path, Path],
                                                               bad: str) -> None:
    hub.corrupt.add(bad)
    with pytest.raises(dl.DownloadError, match="does not match the checksum"):
        run(hub, where)
    assert nothing_installed(where)
    models_dir, _ = where
    assert list((models_dir / ".download-tiny-cpu" / "partial").iterdir()) == []  # the bad file was deleted
    assert hub.downloads("cpu-int4/model.onnx.data") == []  # it stopped before the big file


def test_a_full_disk_is_refused_before_any_byte_is_fetched(hub: FakeHub, where: tuple[Path, Path]) -> None:
    with pytest.raises(dl.DownloadError, match=r"needs 2\d\d MB free .* only 50 MB is free"):
        run(hub, where, free_bytes=lambda _path: 50_000_000)
    assert [r for r in hub.requests if "/resolve/" in r.path] == []
    assert nothing_installed(where)


def test_offline_mode_is_refused_before_anything_is_contacted(hub: FakeHub, where: tuple[Path, Path],
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(dl.DownloadError, match="offline mode is on"):
        run(hub, where)
    assert hub.requests == [] and not where[0].exists()


def test_a_hanging_hub_gives_a_timeout_error_in_seconds(hub: FakeHub, where: tuple[Path, Path]) -> None:
    hub.hang = True
    with pytest.raises(dl.DownloadError, match=r"did not answer within 1 s while listing test/tiny"):
        run(hub, where, timeout_s=1)
    assert nothing_installed(where)


@pytest.mark.parametrize("name", ["cpu-int4/../../escape.txt", "cpu-int4//x", "cpu-int4/a\\b", "cpu-int4/./x",
                                  "cpu-int4/\x1b]0;title\x07.json", "cpu-int4/C:x"])
def test_a_file_name_leaving_the_model_folder_is_refused(hub: FakeHub, where: tuple[Path, Path], name: str,
                                                         tmp_path: Path) -> None:
    hub.listing_overrides[name] = {"rfilename": name, "size": 3, "blobId": "a" * 40}
    with pytest.raises(dl.DownloadError, match="does not stay inside the model folder"):
        run(hub, where)
    assert not (tmp_path / "escape.txt").exists() and [r for r in hub.requests if "/resolve/" in r.path] == []


def test_a_listing_without_checksums_or_genai_config_is_refused(hub: FakeHub, where: tuple[Path, Path]) -> None:
    hub.listing_overrides["cpu-int4/tokenizer.json"] = {"rfilename": "cpu-int4/tokenizer.json", "size": 3}
    with pytest.raises(dl.DownloadError, match="no usable size and checksum"):
        run(hub, where)
    hub.listing_overrides = {"cpu-int4/genai_config.json": None}
    with pytest.raises(dl.DownloadError, match="has no genai_config.json"):
        run(hub, where)
    assert nothing_installed(where)


def test_a_pinned_revision_the_hub_lacks_is_refused(hub: FakeHub, where: tuple[Path, Path]) -> None:
    with pytest.raises(dl.DownloadError, match="no longer has the pinned revision"):
        run(hub, where, entry(revision="f" * 40))
    assert nothing_installed(where)


def test_a_second_download_of_the_same_model_is_refused_while_one_runs(hub: FakeHub, where: tuple[Path, Path]) -> None:
    models_dir, _ = where
    models_dir.mkdir(parents=True)
    with filelock.FileLock(f"{models_dir / '.download-tiny-cpu'}.lock"):
        with pytest.raises(dl.DownloadError, match="already being downloaded"):
            run(hub, where)
    assert hub.requests == []


def test_a_device_without_a_build_is_refused(hub: FakeHub, where: tuple[Path, Path]) -> None:
    models_dir, models_toml = where
    with pytest.raises(ConfigError, match="no cuda build; it has: cpu"):
        dl.download(entry(), "cuda", models_dir, models_toml, endpoint=hub.url, check=_check)


def test_delete_frees_the_disk_and_unregisters(hub: FakeHub, where: tuple[Path, Path]) -> None:
    result = run(hub, where)
    models_dir, models_toml = where
    stray = models_dir / ".download-tiny-cuda"  # a partial download of another build
    (stray / "partial").mkdir(parents=True)
    (stray / "partial" / "x.incomplete").write_bytes(b"x" * 1000)
    freed = dl.delete("local/tiny", models_dir, models_toml)
    assert freed >= result.size_bytes + 1000
    assert not result.path.exists() and not stray.exists() and user_catalog.load(models_toml) == []
    with pytest.raises(ConfigError, match="not a downloaded model"):
        dl.delete("tiny", models_dir, models_toml)


def test_delete_refuses_the_default_model_and_folders_the_user_added(where: tuple[Path, Path],
                                                                     tmp_path: Path) -> None:
    models_dir, models_toml = where
    mine = tmp_path / "my-model"
    mine.mkdir()
    (mine / "manifest.json").write_text("{}")
    user_catalog.upsert(models_toml, ModelSpec(name="local/mine", kind="onnx", path=mine))
    with pytest.raises(ConfigError, match="models remove local/mine"):
        dl.delete("mine", models_dir, models_toml)
    with pytest.raises(ConfigError, match="embedded default"):
        dl.delete("local/smollm2-135m", models_dir, models_toml)
    with pytest.raises(ConfigError, match="not a downloaded model"):
        dl.delete("../*", models_dir, models_toml)
    assert mine.is_dir() and len(user_catalog.load(models_toml)) == 1

from __future__ import annotations

import re
import sys
import types
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from agents.providers.manager import catalog
from agents.providers.manager.catalog import GB, CatalogEntry, Machine, Variant
from tools.errors import ConfigError

PACKAGED = Path(catalog.__file__).parents[3] / "resources" / "models" / "catalog.toml"


def entry(name: str = "model", *, verified: bool = True, params_b: float = 3.0, ram_gb: float = 4.0,
          vram_gb: float | None = 3.0, cuda: bool = True, size: int = 2 * GB) -> CatalogEntry:
    variants = [Variant(device="cpu", precision="int4", subfolder="cpu", size_bytes=size)]
    if cuda:
        variants.append(Variant(device="cuda", precision="int4", subfolder="cuda", size_bytes=size))
    return CatalogEntry(
        name=name, title=name.title(), publisher="Test", repo=f"test/{name}", revision="a" * 40 if verified else None,
        verified=verified, params_b=params_b, ram_gb=ram_gb, vram_gb=vram_gb if cuda else None,
        context_length=4096, licence="MIT", good_at="tests", card_url=f"https://example.test/{name}",
        variants=variants)


def laptop(ram_gb: float = 8.2, disk_gb: float = 100.0, **gpu: Any) -> Machine:
    return Machine(ram_bytes=int(ram_gb * GB), free_disk_bytes=int(disk_gb * GB), **gpu)


# -- the packaged catalog ----------------------------------------------------------------------------------------


def test_every_packaged_entry_is_well_formed_and_pinned_where_verified() -> None:
    entries = catalog.load_catalog()
    assert 5 <= len(entries) <= 8
    names = [e.name for e in entries]
    assert len(names) == len(set(names))
    assert any(e.verified for e in entries)
    for e in entries:
        assert 0.5 <= e.params_b <= 8, e.name
        assert e.card_url == f"https://huggingface.co/{e.repo}", e.name
        if e.verified:
            assert e.revision is not None and re.fullmatch(r"[0-9a-f]{40}", e.revision), e.name
        else:
            assert e.revision is None, f"{e.name}: an unverified entry must not look pinned"
        keys = [(v.device, v.precision) for v in e.variants]
        assert len(keys) == len(set(keys)), e.name
        assert len({v.subfolder for v in e.variants}) == len(e.variants), e.name
        for v in e.variants:
            assert v.size_bytes > 100_000_000, (e.name, v.device)
            assert not v.subfolder.startswith("/") and ".." not in v.subfolder.split("/"), (e.name, v.subfolder)
        cpu = e.variant("cpu")
        assert cpu is not None, f"{e.name} has no cpu build"
        # Honest memory: at least the weights plus half a gigabyte for the runtime.
        assert e.ram_gb >= cpu.size_bytes / GB + 0.5, e.name
        cuda = e.variant("cuda")
        if cuda is not None:
            assert e.vram_gb is not None and e.vram_gb >= cuda.size_bytes / GB + 0.5, e.name


def test_the_catalog_spans_small_to_large_and_has_a_model_for_an_8_gb_laptop() -> None:
    entries = catalog.load_catalog()
    assert min(e.params_b for e in entries) <= 1.5
    assert max(e.params_b for e in entries) >= 7
    small = [e for e in entries if e.params_b <= 1.5 and e.ram_gb <= 4]
    assert small, "no model for an 8 GB laptop's CPU"
    assert any(e.variant("cuda") for e in entries)
    pick = catalog.recommend(entries, laptop(ram_gb=8.2, disk_gb=50))
    assert pick is not None and pick.device == "cpu" and pick.entry.ram_gb <= 4.1


def test_unverified_entries_are_flagged_and_say_where_their_sizes_come_from() -> None:
    text = PACKAGED.read_text(encoding="utf-8")
    assert "verified = false" in text.split("[[models]]")[0], "the header must say what unverified means"
    blocks = text.split("[[models]]")
    unverified = [e for e in catalog.load_catalog() if not e.verified]
    assert unverified
    for e in unverified:
        # The comment above an entry ends the block before it.
        index = next(i for i, b in enumerate(blocks) if f'name = "{e.name}"' in b)
        before = blocks[index - 1].rsplit("size_bytes", 1)[-1]
        assert "Unverified" in before, f"{e.name}: say why it is unverified"
        assert re.search(r"estimate|listing", before), f"{e.name}: say where its size comes from"


def test_find_accepts_the_registered_name_and_lists_the_known_ones() -> None:
    entries = catalog.load_catalog()
    first = entries[0]
    assert catalog.find(entries, first.name) is first
    assert catalog.find(entries, f"local/{first.name}") is first
    with pytest.raises(ConfigError, match=re.escape(first.name)):
        catalog.find(entries, "no-such-model")


# -- a bad catalog file is refused, naming the entry -------------------------------------------------------------

GOOD = """
[[models]]
name = "tiny"
title = "Tiny"
publisher = "Test"
repo = "test/tiny"
revision = "0123456789abcdef0123456789abcdef01234567"
verified = true
params_b = 0.5
ram_gb = 1.5
vram_gb = 1.0
context_length = 4096
licence = "MIT"
good_at = "tests"
card_url = "https://huggingface.co/test/tiny"

[[models.variants]]
device = "cpu"
precision = "int4"
subfolder = "cpu/int4"
size_bytes = 500000000

[[models.variants]]
device = "cuda"
precision = "int4"
subfolder = "cuda/int4"
size_bytes = 400000000
"""


def test_a_good_file_loads(tmp_path: Path) -> None:
    path = tmp_path / "catalog.toml"
    path.write_text(GOOD, encoding="utf-8")
    [tiny] = catalog.load_catalog(path)
    assert tiny.variant("cuda") == Variant(device="cuda", precision="int4", subfolder="cuda/int4",
                                           size_bytes=400_000_000)
    assert tiny.devices == ["cpu", "cuda"]


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda t: t.replace('name = "tiny"', 'name = "tiny'), r"cannot read the model catalog"),
        (lambda t: t.replace('licence = "MIT"\n', ""), r"'tiny'.*licence"),
        (lambda t: t.replace('"0123456789abcdef0123456789abcdef01234567"', '"0123abc"'), r"'tiny'.*40-character"),
        (lambda t: t.replace('subfolder = "cpu/int4"', 'subfolder = "../outside"'), r"'tiny'.*not a folder inside"),
        (lambda t: t.replace('subfolder = "cpu/int4"', 'subfolder = "/etc"'), r"'tiny'.*not a folder inside"),
        (lambda t: t.replace('subfolder = "cpu/int4"', 'subfolder = "C:/models"'), r"'tiny'.*not a folder inside"),
        (lambda t: t + t, r"'tiny' is used twice"),
        (lambda t: t.replace("revision = \"0123456789abcdef0123456789abcdef01234567\"\n", ""),
         r"'tiny'.*verified entry needs its pinned revision"),
        (lambda t: t.replace("vram_gb = 1.0\n", ""), r"'tiny'.*GPU build needs vram_gb"),
        (lambda t: t.replace('device = "cuda"', 'device = "cpu"'), r"'tiny'.*same device and precision"),
        (lambda t: t.replace("size_bytes = 500000000", "size_bytes = 0"), r"'tiny'.*size_bytes"),
        (lambda t: t.replace('card_url = "https://', 'card_url = "http://'), r"'tiny'.*https"),
        (lambda t: t.replace('name = "tiny"', 'name = "Tiny Model"'), r"not a catalog name"),
        (lambda t: t.replace('licence = "MIT"', 'licence = "MIT"\nsha = "x"'), r"'tiny'.*sha"),
        (lambda t: t.replace("[[models]]", "[models]").replace("[[models.variants]]", "[[models.variants]]"),
         r"\[\[models\]\] tables"),
    ],
    ids=["bad-toml", "missing-field", "short-revision", "dotdot-subfolder", "absolute-subfolder",
         "drive-subfolder", "duplicate-name", "verified-unpinned", "gpu-without-vram", "duplicate-variant",
         "zero-size", "plain-http", "bad-name", "unknown-field", "table-not-array"],
)
def test_a_bad_file_is_a_config_error_naming_the_entry(tmp_path: Path, edit: Any, message: str) -> None:
    path = tmp_path / "catalog.toml"
    path.write_text(edit(GOOD), encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        catalog.load_catalog(path)


def test_a_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read the model catalog"):
        catalog.load_catalog(tmp_path / "absent.toml")


# -- fits and recommend, on machines made up for the test --------------------------------------------------------


def test_on_a_tiny_machine_nothing_fits_and_each_says_how_much_ram_it_needs() -> None:
    entries = catalog.load_catalog()
    tiny = laptop(ram_gb=1.0)
    for e in entries:
        fit = catalog.fits(e, tiny)
        assert not fit.fits and fit.device == "cpu"
        assert f"needs {e.ram_gb:.1f} GB of RAM, this machine has 1.0 GB" in fit.reason
    assert catalog.recommend(entries, tiny) is None


def test_a_gpu_with_room_gets_the_cuda_build_and_one_without_room_gets_the_cpu_build() -> None:
    model = entry(vram_gb=4.7, size=3_400_000_000)
    roomy = laptop(ram_gb=16, gpu_name="NVIDIA GeForce RTX 4070", vram_free_bytes=11 * GB)
    fit = catalog.fits(model, roomy)
    assert fit.fits and fit.device == "cuda" and fit.variant == model.variant("cuda")
    assert "free VRAM" in fit.reason
    cramped = laptop(ram_gb=16, gpu_name="NVIDIA GeForce MX450", vram_free_bytes=2 * GB)
    fit = catalog.fits(model, cramped)
    assert fit.fits and fit.device == "cpu"
    forced = catalog.fits(model, cramped, device="cuda")
    assert not forced.fits
    assert "needs 4.7 GB of free VRAM, the NVIDIA GeForce MX450 has 2.0 GB free" in forced.reason


def test_asking_for_the_gpu_on_a_machine_without_one_says_so() -> None:
    fit = catalog.fits(entry(), laptop(ram_gb=16), device="cuda")
    assert not fit.fits and "none was found" in fit.reason
    no_cuda = entry(cuda=False)
    fit = catalog.fits(no_cuda, laptop(ram_gb=16, gpu_name="GPU", vram_free_bytes=24 * GB), device="cuda")
    assert not fit.fits and fit.variant is None and "has no cuda build (it has: cpu)" in fit.reason


def test_a_full_disk_does_not_fit_and_says_how_much_disk_it_needs() -> None:
    model = entry(size=2 * GB)
    full = laptop(ram_gb=32, disk_gb=1.1)
    fit = catalog.fits(model, full)
    assert not fit.fits
    assert fit.reason == f"needs {catalog.disk_needed(model.variants[0]) / GB:.1f} GB of free disk, 1.1 GB free"
    assert catalog.disk_needed(model.variants[0]) == 2 * GB + 200_000_000 + 200 * 1024 * 1024
    assert catalog.recommend([model], full) is None


def test_every_shortfall_is_named_at_once() -> None:
    fit = catalog.fits(entry(ram_gb=8.0), laptop(ram_gb=7.6, disk_gb=0.5))
    assert "needs 8.0 GB of RAM, this machine has 7.6 GB" in fit.reason and "of free disk" in fit.reason


def test_memory_in_use_right_now_is_advice_not_a_verdict() -> None:
    busy = Machine(ram_bytes=16 * GB, free_disk_bytes=100 * GB, ram_available_bytes=2 * GB)
    fit = catalog.fits(entry(ram_gb=4.0), busy)
    assert fit.fits and "only 2.0 GB of RAM is free now" in fit.reason


def test_recommend_prefers_verified_then_larger_within_the_cpu_margin() -> None:
    small_unverified = entry("small", verified=False, params_b=1.5, ram_gb=2.5)
    mid_verified = entry("mid", params_b=1.0, ram_gb=2.0)
    large_verified = entry("large", params_b=3.8, ram_gb=6.6)
    huge_light = entry("huge", params_b=7.0, ram_gb=3.0)  # over 4B: too slow on a CPU whatever its memory
    entries = [small_unverified, mid_verified, large_verified, huge_light]
    pick = catalog.recommend(entries, laptop(ram_gb=8.2))
    assert pick is not None and pick.entry.name == "mid"  # 6.6 GB is more than half of 8.2
    pick = catalog.recommend(entries, laptop(ram_gb=16.4))
    assert pick is not None and pick.entry.name == "large"
    pick = catalog.recommend([small_unverified], laptop(ram_gb=8.2))
    assert pick is not None and pick.entry.name == "small"  # unverified is still better than nothing
    assert catalog.recommend([huge_light], laptop(ram_gb=64)) is None


def test_recommend_on_a_gpu_takes_a_larger_model_that_leaves_room() -> None:
    entries = [entry("large", params_b=3.8, ram_gb=6.6, vram_gb=4.7), entry("huge", params_b=7.2, vram_gb=5.6)]
    pick = catalog.recommend(entries, laptop(ram_gb=16, gpu_name="RTX", vram_free_bytes=8 * GB))
    assert pick is not None and (pick.entry.name, pick.device) == ("huge", "cuda")
    # 5.6 GB fits in 6.0 GB but without the 10 % margin: the smaller model is suggested instead.
    pick = catalog.recommend(entries, laptop(ram_gb=16, gpu_name="RTX", vram_free_bytes=6 * GB))
    assert pick is not None and (pick.entry.name, pick.device) == ("large", "cuda")


def test_ties_keep_catalog_order() -> None:
    first, second = entry("first", params_b=3.8), entry("second", params_b=3.8)
    pick = catalog.recommend([first, second], laptop(ram_gb=16))
    assert pick is not None and pick.entry.name == "first"


def test_download_seconds() -> None:
    assert catalog.download_seconds(1 * GB) == pytest.approx(50.0)
    assert catalog.download_seconds(1 * GB, mb_per_s=100) == pytest.approx(10.0)
    with pytest.raises(ValueError, match="positive"):
        catalog.download_seconds(GB, mb_per_s=0)


# -- probing this machine ----------------------------------------------------------------------------------------


@dataclass
class FakeGpu:
    name: str
    vram_free_bytes: int


def fake_gpu_module(monkeypatch: pytest.MonkeyPatch, facts: Any) -> None:
    module = types.ModuleType("agents.providers.manager.gpu")
    module.gpu_facts = facts  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "agents.providers.manager.gpu", module)


def test_machine_measures_the_nearest_existing_folder_and_picks_the_freest_gpu(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_gpu_module(monkeypatch, lambda: [FakeGpu("small card", 2 * GB), FakeGpu("big card", 20 * GB)])
    found = catalog.machine(tmp_path / "not" / "yet" / "models")
    assert found.ram_bytes > 0 and found.ram_available_bytes is not None
    assert 0 < found.free_disk_bytes
    assert (found.gpu_name, found.vram_free_bytes) == ("big card", 20 * GB)


def test_machine_without_a_working_gpu_probe_has_no_gpu(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken() -> list[FakeGpu]:
        raise RuntimeError("nvidia-smi went away")

    fake_gpu_module(monkeypatch, broken)
    assert catalog.machine(tmp_path).gpu_name is None
    fake_gpu_module(monkeypatch, lambda: [])
    assert catalog.machine(tmp_path).vram_free_bytes is None
    monkeypatch.setitem(sys.modules, "agents.providers.manager.gpu", None)  # import fails: module absent
    found = catalog.machine(tmp_path)
    assert found.gpu_name is None and found.vram_free_bytes is None

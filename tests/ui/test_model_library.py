"""The model library page: the catalog, downloads (progress, cancel, offline), delete, what was found, devices.

The manager's slow functions are replaced by fakes (a download that reports progress and honours cancel, a machine
with known memory, one fake Ollama server, two model files); the offline error and deleting are the real functions.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt

from agents.providers import catalog
from agents.providers.manager import catalog as library
from agents.providers.manager import discovery, download, gpu, importer
from agents.providers.spec import ModelSpec
from app.gui import found_models
from app.gui.backend import Backend
from app.gui.found_models import FoundModelsWidget
from app.gui.model_library import LibraryPageWidget, ModelLibraryWidget
from app.gui.settings_dialog import SettingsDialog
from app.gui.tasks import Tasks
from app.secrets import MemorySecretStore
from app.settings import load_settings
from tests.support.fake_servers import add_ollama_model, closed_port, fake_ollama, garbage_server, tiny_gguf

GB = 1_000_000_000
CATALOG = """
[[models]]
name = "tiny-chat"
title = "Tiny Chat"
publisher = "Test"
repo = "test/tiny-chat"
revision = "5f0c3e1b9a7d2c4e6f8a0b1c2d3e4f5a6b7c8d9e"
verified = true
params_b = 1.5
ram_gb = 3.0
context_length = 8192
licence = "MIT"
good_at = "Short answers"
card_url = "https://example.org/tiny-chat"
[[models.variants]]
device = "cpu"
precision = "int4"
subfolder = "cpu-int4"
size_bytes = 1_200_000_000

[[models]]
name = "odd-chat"
title = "Odd Chat"
publisher = "Test"
repo = "test/odd-chat"
verified = false
params_b = 0.5
ram_gb = 1.0
context_length = 4096
licence = "Apache-2.0"
good_at = "Quick lookups"
card_url = "https://example.org/odd-chat"
[[models.variants]]
device = "cpu"
precision = "int4"
subfolder = ""
size_bytes = 400_000_000

[[models]]
name = "huge-chat"
title = "Huge Chat"
publisher = "Test"
repo = "test/huge-chat"
revision = "0f0c3e1b9a7d2c4e6f8a0b1c2d3e4f5a6b7c8d9e"
verified = true
params_b = 70
ram_gb = 140.0
context_length = 8192
licence = "MIT"
good_at = "Everything, slowly"
card_url = "https://example.org/huge-chat"
[[models.variants]]
device = "cpu"
precision = "int4"
subfolder = "cpu"
size_bytes = 40_000_000_000
"""
MACHINE = library.Machine(ram_bytes=16 * GB, free_disk_bytes=200 * GB)
OLLAMA = "http://127.0.0.1:11434/v1"


def plan_of(source: str, name: str, *, supported: bool, reason: str) -> importer.ImportPlan:
    """A GGUF import plan: 135M parameters, 5 minutes, 270 MB on disk."""
    return importer.ImportPlan(source, Path(source), name, "gguf", "int8", "llama", 135_000_000, "Q4_1", "float32",
                               est_seconds=300.0, est_disk_bytes=270_000_000, est_scratch_bytes=540_000_000,
                               est_ram_bytes=1_500_000_000, supported=supported, reason=reason)


def installed_folder(models_dir: Path, name: str, size: int = 2_000_000) -> Path:
    """A downloaded model as the download leaves it: a folder with a manifest, registered as local/<name>."""
    folder = models_dir / f"{name}-cpu-int4"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "model.onnx.data").write_bytes(b"\0" * size)
    (folder / "manifest.json").write_text(json.dumps({"name": f"local/{name}"}), encoding="utf-8")
    return folder


class FakeDownload:
    """download(): reports half the bytes, waits for ``release`` (or cancel) when gated, then registers the folder."""

    def __init__(self, gated: bool = False) -> None:
        self.gated = gated
        self.release = threading.Event()
        self.calls: list[tuple[str, str, str]] = []
        self.reported = threading.Event()

    def __call__(self, entry: library.CatalogEntry, device: str, models_dir: Path, models_catalog: Path, *,
                 progress: download.Progress | None = None, cancel: threading.Event | None = None,
                 **_options: Any) -> download.DownloadResult:
        assert progress is not None and cancel is not None
        self.calls.append((entry.name, device, threading.current_thread().name))
        total = entry.variants[0].size_bytes
        for step in (1, 2):
            progress("downloading model.onnx.data", total * step // 4, total)
        self.reported.set()
        while self.gated and not (self.release.is_set() or cancel.is_set()):
            cancel.wait(0.01)
        if cancel.is_set():
            raise download.Cancelled(f"the download of {entry.name} was cancelled; the next download continues")
        progress("checking the model answers", total, total)
        folder = installed_folder(models_dir, entry.name)
        catalog.upsert(models_catalog, ModelSpec(name=f"local/{entry.name}", kind="onnx", path=folder))
        return download.DownloadResult(f"local/{entry.name}", folder, device, "int4", "5f0c" * 10, total, 75.0, 0,
                                       "Paris.")


@pytest.fixture
def plain_backend(tmp_path: Path) -> Iterator[Backend]:
    """A new user's settings with the test catalog; the panels never open the agent session."""
    settings, paths = load_settings()
    catalog_file = tmp_path / "catalog.toml"
    catalog_file.write_text(CATALOG, encoding="utf-8")
    settings.models.catalog_file = catalog_file
    settings.models.detect_servers = {"ollama": "http://127.0.0.1:11434"}

    def no_session(_backend: Backend):  # type: ignore[no-untyped-def]
        raise AssertionError("the model library must not open the agent session")

    b = Backend(settings, paths, secrets=MemorySecretStore(), opener=no_session)
    yield b
    b.close()


@pytest.fixture(autouse=True)
def fake_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(library, "machine", lambda _models_dir: MACHINE)


@pytest.fixture
def fake_download(monkeypatch: pytest.MonkeyPatch) -> FakeDownload:
    fake = FakeDownload(gated=True)
    monkeypatch.setattr(download, "download", fake)
    return fake


@pytest.fixture
def fake_found(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[dict[str, str]]:
    """One running Ollama with two models; two model files (one importable); detect_servers' arguments recorded."""
    asked: list[dict[str, str]] = []

    def detect_servers(servers: dict[str, str], timeout_s: float = 0.5) -> list[discovery.FoundServer]:
        asked.append(dict(servers))
        return [discovery.FoundServer("ollama", OLLAMA, ["llama3.2:1b", "qwen2.5:0.5b"], None)]

    def scan_disk(*_args: Any, **_kwargs: Any) -> list[discovery.FoundModel]:
        gguf = tmp_path / "blobs" / "sha256-abc"
        return [discovery.FoundModel("ollama", "smollm2:135m", gguf, "gguf", 98_000_000, "llama", True, "",
                                     import_as="ollama:smollm2:135m"),
                discovery.FoundModel("lmstudio", "mamba-1b.gguf", tmp_path / "mamba.gguf", "gguf", 700_000_000,
                                     "mamba", False, "the builder cannot convert the mamba architecture")]

    monkeypatch.setattr(discovery, "detect_servers", detect_servers)
    monkeypatch.setattr(discovery, "scan_disk", scan_disk)
    return asked


@pytest.fixture
def panel(qtbot, plain_backend: Backend, tasks: Tasks) -> ModelLibraryWidget:  # type: ignore[no-untyped-def]
    widget = ModelLibraryWidget(plain_backend, tasks)
    qtbot.addWidget(widget)
    with qtbot.waitSignal(widget.loaded, timeout=10_000):
        widget.show()  # the catalog loads on first show
    return widget


def row_texts(panel: ModelLibraryWidget) -> list[str]:
    table = panel.table
    return [" | ".join(table.item(r, c).text() for c in range(table.columnCount())) for r in range(table.rowCount())]


def select(panel: ModelLibraryWidget, name: str) -> None:
    panel.select(name)
    row = panel.selected_row()
    assert row is not None and row.entry.name == name


def test_the_table_lists_what_fits_and_shows_unverified_entries_as_such(qtbot, panel: ModelLibraryWidget) -> None:
    rows = row_texts(panel)
    assert [r.split(" | ")[0] for r in rows] == ["Tiny Chat", "Odd Chat (unverified)"]
    assert "1.5 B" in rows[0] and "1.2 GB" in rows[0] and "8k" in rows[0] and "yes, on cpu" in rows[0]
    assert "unverified" in panel.table.item(1, 0).toolTip().lower()
    assert "16.0 GB of memory" in panel.machine_label.text() and "no NVIDIA GPU" in panel.machine_label.text()

    panel.show_all.setChecked(True)
    rows = row_texts(panel)
    assert len(rows) == 3 and "no: needs 140.0 GB of RAM, this machine has 16.0 GB" in rows[2]
    panel.show_all.setChecked(False)
    assert len(row_texts(panel)) == 2


def test_a_download_shows_progress_then_registers_the_model(qtbot, panel: ModelLibraryWidget, plain_backend: Backend,
                                                            fake_download: FakeDownload) -> None:
    values: list[int] = []
    panel.progress.valueChanged.connect(values.append)
    select(panel, "tiny-chat")
    assert panel.download_button.isEnabled() and not panel.delete_button.isEnabled()
    panel.download_button.click()
    assert not panel.download_button.isEnabled() and panel.cancel_button.isEnabled()
    qtbot.waitUntil(lambda: panel.progress.value() == 500, timeout=10_000)  # per-mille: half of the bytes
    text = panel.message.text()
    assert text.startswith("downloading model.onnx.data: 600.0 MB of 1.2 GB, ") and text.endswith(" MB/s")
    assert values[-2:] == [250, 500] and not panel.progress.isHidden()
    with qtbot.waitSignal(panel.catalog_changed, timeout=10_000):
        fake_download.release.set()
    assert fake_download.calls[0][:2] == ("tiny-chat", "cpu")
    assert fake_download.calls[0][2].startswith("deskmate-download")  # its own lane: the io lane stays free
    assert "Downloaded local/tiny-chat" in panel.message.text() and "Paris" in panel.message.text()
    assert "local/tiny-chat" in {s.name for s in catalog.load(plain_backend.paths.models_catalog)}
    assert panel.table.item(0, 2).text() == "yes" and panel.selected_row().entry.name == "tiny-chat"
    assert panel.use_button.isEnabled() and panel.delete_button.isEnabled() and not panel.download_button.isEnabled()
    assert panel.progress.isHidden() and not panel.cancel_button.isEnabled()


def test_cancel_stops_the_download_and_says_it_resumes(qtbot, panel: ModelLibraryWidget, plain_backend: Backend,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeDownload(gated=True)
    monkeypatch.setattr(download, "download", fake)
    changed: list[bool] = []
    panel.catalog_changed.connect(lambda: changed.append(True))
    select(panel, "odd-chat")
    panel.download_button.click()
    qtbot.waitUntil(fake.reported.is_set, timeout=10_000)
    panel.cancel_button.click()
    qtbot.waitUntil(lambda: "cancelled" in panel.message.text(), timeout=10_000)
    assert "resumes" in panel.message.text() and not panel.message.styleSheet()
    assert not changed and not plain_backend.paths.models_catalog.exists()
    assert panel.download_button.isEnabled() and not panel.cancel_button.isEnabled() and panel.progress.isHidden()


def test_offline_the_error_is_shown_and_the_panel_stays_usable(qtbot, panel: ModelLibraryWidget,
                                                              plain_backend: Backend,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # the real download: it refuses before touching anything
    select(panel, "tiny-chat")
    panel.download_button.click()
    qtbot.waitUntil(lambda: "offline" in panel.message.text(), timeout=10_000)
    assert "HF_HUB_OFFLINE" in panel.message.text() and "keep working" in panel.message.text()
    assert panel.message.styleSheet()  # shown as an error
    assert panel.download_button.isEnabled() and panel.progress.isHidden() and len(row_texts(panel)) == 2
    assert not list(plain_backend.paths.models_dir.glob(".download-*"))


def test_delete_asks_then_reports_the_space_freed(qtbot, plain_backend: Backend, tasks: Tasks,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    paths = plain_backend.paths
    folder = installed_folder(paths.models_dir, "tiny-chat", size=3_000_000)
    catalog.upsert(paths.models_catalog, ModelSpec(name="local/tiny-chat", kind="onnx", path=folder))
    plain_backend.settings.models.large = "local/tiny-chat"
    questions: list[str] = []
    answers = iter([False, True])
    monkeypatch.setattr(found_models, "confirm", lambda _parent, _title, text: questions.append(text) or next(answers))
    panel = ModelLibraryWidget(plain_backend, tasks)
    qtbot.addWidget(panel)
    with qtbot.waitSignal(panel.loaded, timeout=10_000):
        panel.reload()
    select(panel, "tiny-chat")
    assert panel.delete_button.isEnabled() and not panel.download_button.isEnabled()

    panel.delete_button.click()  # answered No
    assert folder.exists() and "Delete local/tiny-chat" in questions[0] and "your large model" in questions[0]
    with qtbot.waitSignal(panel.catalog_changed, timeout=10_000):
        panel.delete_button.click()
    assert "Deleted local/tiny-chat: 3.0 MB freed." == panel.message.text()
    assert not folder.exists() and "local/tiny-chat" not in {s.name for s in catalog.load(paths.models_catalog)}
    assert panel.download_button.isEnabled() and not panel.delete_button.isEnabled()


def test_use_for_hard_requests_sets_the_large_model_the_dialog_saves(qtbot, plain_backend: Backend, tasks: Tasks,
                                                                    fake_download: FakeDownload,
                                                                    fake_found: list[dict[str, str]]) -> None:
    dialog = SettingsDialog(plain_backend, tasks, page="library")
    qtbot.addWidget(dialog)
    library_page = dialog.library_page
    assert isinstance(library_page, LibraryPageWidget) and dialog.current_page() == "library"
    panel = library_page.library
    with qtbot.waitSignal(panel.loaded, timeout=10_000):
        dialog.show()
    select(panel, "tiny-chat")
    fake_download.release.set()
    with qtbot.waitSignal(dialog.models_page.catalog_changed, timeout=10_000):
        panel.download_button.click()
    assert dialog.models_page.large_combo.findText("local/tiny-chat") >= 0  # the Models page read models.toml again
    panel.use_button.click()
    assert dialog.models_page.large_combo.currentText() == "local/tiny-chat"
    assert "once you press Save" in panel.message.text()
    with qtbot.waitSignal(dialog.saved, timeout=5_000) as blocker:
        dialog.save()
    assert blocker.args[0] == {"models"} and load_settings()[0].models.large == "local/tiny-chat"


# -- found on this computer ------------------------------------------------------------------------------------------


@pytest.fixture
def found(qtbot, plain_backend: Backend, tasks: Tasks, fake_found: list[dict[str, str]]) -> FoundModelsWidget:  # type: ignore[no-untyped-def]
    widget = FoundModelsWidget(plain_backend, tasks)
    qtbot.addWidget(widget)
    with qtbot.waitSignal(widget.looked, timeout=10_000):
        widget.show()  # looks on first show
    return widget


def test_found_servers_are_listed_and_add_registers_a_provider(qtbot, found: FoundModelsWidget,
                                                               plain_backend: Backend,
                                                               fake_found: list[dict[str, str]]) -> None:
    assert fake_found == [{"ollama": "http://127.0.0.1:11434"}]  # the settings' servers were asked
    table = found.server_table
    assert [table.item(r, 1).text() for r in range(table.rowCount())] == ["llama3.2:1b", "qwen2.5:0.5b"]
    assert "1 running server(s), 2 model file(s)" in found.message.text()
    assert not found.add_button.isEnabled()
    table.selectRow(0)
    with qtbot.waitSignal(found.catalog_changed, timeout=10_000):
        found.add_button.click()
    spec = {s.name: s for s in catalog.load(plain_backend.paths.models_catalog)}["ollama/llama3.2:1b"]
    assert spec.kind == "openai" and spec.base_url == OLLAMA and spec.model == "llama3.2:1b"
    assert "Added ollama/llama3.2:1b" in found.message.text()


def test_real_detection_finds_a_running_ollama_and_its_store(qtbot, plain_backend: Backend, tasks: Tasks,
                                                             tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    monkeypatch.setenv("HOME", str(home))  # scan_disk() looks in the user's folders: these ones
    for name in ("OLLAMA_MODELS", "HF_HOME", "HF_HUB_CACHE", "XDG_DATA_HOME"):
        monkeypatch.delenv(name, raising=False)
    add_ollama_model(home / ".ollama" / "models", "tiny", "latest", tiny_gguf(), "a" * 64)
    with fake_ollama(["tiny:latest"]) as ollama, garbage_server() as other:
        plain_backend.settings.models.detect_servers = {"ollama": ollama.address, "jan": f"{other.address}/v1",
                                                        "vllm": f"http://127.0.0.1:{closed_port()}/v1"}
        widget = FoundModelsWidget(plain_backend, tasks)
        qtbot.addWidget(widget)
        with qtbot.waitSignal(widget.looked, timeout=15_000):
            widget.show()
        rows = [[widget.server_table.item(r, c).text() for c in range(3)]
                for r in range(widget.server_table.rowCount())]
        assert rows[0] == ["ollama", "tiny:latest", f"{ollama.address}/v1"]
        assert rows[1][:2] == ["jan", "(no models)"] and len(rows) == 2  # answered badly: shown, not addable
        assert [m.name for m in widget.files] == ["tiny:latest"] and widget.file_table.item(0, 0).text() == "ollama"
        widget.server_table.selectRow(1)
        assert not widget.add_button.isEnabled()
        widget.server_table.selectRow(0)
        with qtbot.waitSignal(widget.catalog_changed, timeout=10_000):
            widget.add_button.click()
    spec = {s.name: s for s in catalog.load(plain_backend.paths.models_catalog)}["ollama/tiny:latest"]
    assert spec.base_url == f"{ollama.address}/v1"


def test_look_again_asks_again(qtbot, found: FoundModelsWidget, fake_found: list[dict[str, str]]) -> None:
    with qtbot.waitSignal(found.looked, timeout=10_000):
        found.look_button.click()
    assert len(fake_found) == 2 and found.server_table.rowCount() == 2


def test_a_model_file_is_imported_after_its_estimate_is_confirmed(qtbot, found: FoundModelsWidget,
                                                                  plain_backend: Backend,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    files = found.file_table
    assert files.item(1, 4).text() == "no: the builder cannot convert the mamba architecture"
    files.selectRow(1)
    assert not found.import_button.isEnabled()  # unimportable: the reason is in its row

    planned: list[tuple[str, str, Path | None]] = []

    def plan_import(source: str | Path, precision: str = "int8", name: str | None = None, *,
                    models_dir: Path | None = None, **_options: Any) -> importer.ImportPlan:
        planned.append((str(source), precision, models_dir))
        return plan_of(str(source), "smollm2-135m", supported=True, reason="llama, 135M parameters, Q4_1")

    def import_model(plan: importer.ImportPlan, models_dir: Path, models_catalog: Path, *,
                     progress: importer.Progress | None = None) -> importer.ImportResult:
        assert progress is not None
        for number, stage in enumerate(("dequantising", "building", "checking the answer"), 1):
            progress(stage, number, 3)
        spec = ModelSpec(name=plan.full_name, kind="onnx", path=models_dir / "imported")
        catalog.upsert(models_catalog, spec)
        return importer.ImportResult(spec, models_dir / "imported", "gguf", "int8", 1, 1.0, "Paris.")

    questions: list[str] = []
    monkeypatch.setattr(importer, "plan_import", plan_import)
    monkeypatch.setattr(importer, "import_model", import_model)
    monkeypatch.setattr(found_models, "confirm", lambda _parent, _title, text: questions.append(text) or True)
    stages: list[int] = []
    found.progress.valueChanged.connect(stages.append)
    files.selectRow(0)
    with qtbot.waitSignal(found.catalog_changed, timeout=10_000):
        found.import_button.click()
    assert planned == [("ollama:smollm2:135m", "int8", plain_backend.paths.models_dir)]  # the source to import
    assert "takes about 5 min" in questions[0] and "270 MB on disk" in questions[0]
    assert "it will be local/smollm2-135m" in questions[0]
    assert stages[:3] == [0, 1, 2] and "Imported local/smollm2-135m;" in found.message.text()
    assert "local/smollm2-135m" in {s.name for s in catalog.load(plain_backend.paths.models_catalog)}


def test_devices_are_checked_on_demand(qtbot, plain_backend: Backend, tasks: Tasks,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[tuple[Path, list[tuple[str, object]]]] = []

    def doctor(models_dir: Path, models: list[tuple[str, object]], **_options: Any) -> list[gpu.ComponentReport]:
        asked.append((models_dir, list(models)))
        return [gpu.ComponentReport("gpu", "-", "none", "no NVIDIA GPU found", ""),
                gpu.ComponentReport("embedder", "all-MiniLM-L6-v2", "cpu", "no NVIDIA GPU found", "int8"),
                gpu.ComponentReport("model default", "local/smollm2-135m", "not installed", None, "run install")]

    monkeypatch.setattr(gpu, "doctor", doctor)
    widget = found_models.DevicesWidget(plain_backend, tasks)
    qtbot.addWidget(widget)
    assert not asked  # loading models takes seconds: only on demand
    with qtbot.waitSignal(widget.checked, timeout=10_000):
        widget.check_button.click()
    assert asked[0][1][0][0] == "default" and isinstance(asked[0][1][0][1], ModelSpec)
    assert widget.lines.text().splitlines() == [
        "GPU: none: no NVIDIA GPU found",
        "embedder: all-MiniLM-L6-v2 on cpu, not the GPU: no NVIDIA GPU found",
        "model default: local/smollm2-135m: not installed",
    ]


def test_names_and_reasons_from_outside_are_shown_as_text_never_markup(qtbot, plain_backend: Backend, tasks: Tasks,
                                                                      monkeypatch: pytest.MonkeyPatch,
                                                                      tmp_path: Path) -> None:
    hostile = "<b>x</b><img src='file:///etc/passwd'>"
    monkeypatch.setattr(discovery, "detect_servers", lambda _servers, timeout_s=0.5: [
        discovery.FoundServer("ollama", OLLAMA, [hostile], None)])
    monkeypatch.setattr(discovery, "scan_disk", lambda *_a, **_k: [
        discovery.FoundModel("jan", hostile, tmp_path / "m.gguf", "gguf", 1, None, True, "")])
    monkeypatch.setattr(importer, "plan_import", lambda source, *_a, **_k: plan_of(
        hostile, "x", supported=False, reason=f"unknown architecture {hostile}"))
    widget = FoundModelsWidget(plain_backend, tasks)
    qtbot.addWidget(widget)
    with qtbot.waitSignal(widget.looked, timeout=10_000):
        widget.show()
    assert widget.server_table.item(0, 1).text() == hostile and widget.file_table.item(0, 1).text() == hostile
    assert "&lt;img src=" in widget.server_table.item(0, 1).toolTip()  # tooltips are rich text: escaped
    widget.server_table.selectRow(0)
    widget.add_button.click()  # not a valid model name: refused with a message, nothing written
    qtbot.waitUntil(lambda: widget.message.styleSheet() != "", timeout=10_000)
    assert not plain_backend.paths.models_catalog.exists()
    widget.file_table.selectRow(0)
    widget.import_button.click()
    qtbot.waitUntil(lambda: "cannot be imported" in widget.message.text(), timeout=10_000)
    assert widget.message.text() == f"{hostile} cannot be imported: unknown architecture {hostile}"
    assert widget.message.textFormat() == Qt.TextFormat.PlainText and widget.import_button.isEnabled()

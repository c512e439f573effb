"""FirstRunWidget: shown while the default model is missing, hidden once it is there, installing with progress;
it lists the servers running here and recommends a catalog model, which it downloads with progress."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import shiboken6

from agents.providers import catalog, default_model
from agents.providers.errors import ModelNotInstalled
from agents.providers.manager import catalog as library
from agents.providers.manager import discovery, download
from app.gui.backend import Backend
from app.gui.first_run import FirstRunWidget
from app.gui.tasks import Tasks
from app.secrets import MemorySecretStore
from app.settings import load_settings
from tests.ui.test_model_library import CATALOG, MACHINE, OLLAMA, FakeDownload


@pytest.fixture
def plain_backend() -> Iterator[Backend]:
    """The settings a new user has (the bundled model is the default); the panel never opens a session."""
    settings, paths = load_settings()
    assert settings.models.default == default_model.DEFAULT_NAME
    settings.models.detect_servers = {}  # no probing of this machine's ports unless a test asks

    def no_session(_backend: Backend):  # type: ignore[no-untyped-def]
        raise AssertionError("the first-run panel must not open the agent session")

    b = Backend(settings, paths, secrets=MemorySecretStore(), opener=no_session)
    yield b
    b.close()


@pytest.fixture
def panel(qtbot, plain_backend: Backend, tasks: Tasks) -> FirstRunWidget:  # type: ignore[no-untyped-def]
    widget = FirstRunWidget(plain_backend, tasks)
    qtbot.addWidget(widget)
    return widget


def test_the_panel_shows_when_the_default_model_is_missing(qtbot, panel: FirstRunWidget) -> None:
    assert panel.isHidden()  # until the check says otherwise: a ready install never flashes it
    with qtbot.waitSignal(panel.checked, timeout=10_000) as blocker:
        panel.refresh()
    assert blocker.args == [False, "not installed"]
    assert not panel.isHidden()
    assert "without" in panel.intro.text() and panel.install_button.isEnabled()


def test_the_panel_hides_when_the_default_model_is_installed(qtbot, panel: FirstRunWidget,
                                                             installed_default_model: Path) -> None:
    panel.show()
    with qtbot.waitSignal(panel.checked, timeout=10_000) as blocker:
        panel.refresh()
    assert blocker.args == [True, "verified"]
    assert panel.isHidden()


def test_a_user_configured_default_counts_as_ready(qtbot, panel: FirstRunWidget, plain_backend: Backend) -> None:
    plain_backend.settings.models.default = "lab/m1"
    with qtbot.waitSignal(panel.checked, timeout=10_000) as blocker:
        panel.refresh()
    assert blocker.args[0] is True and panel.isHidden()


def test_install_shows_each_stage_then_reports_the_model_ready(qtbot, panel: FirstRunWidget, plain_backend: Backend,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[Path, str, str]] = []

    def fake_install(models_dir: Path, precision: str = "int8", *, force: bool = False,
                     progress: default_model.Progress | None = None) -> default_model.InstallResult:
        calls.append((models_dir, precision, threading.current_thread().name))
        assert progress is not None
        for number, stage in enumerate(("checking the packaged GGUF", "dequantising", "building"), 1):
            progress(stage, number, 3)
        return default_model.InstallResult(default_model.DEFAULT_NAME, models_dir / "built", precision, True, 1, 0.1,
                                           "Paris")

    monkeypatch.setattr(default_model, "install", fake_install)
    values: list[int] = []
    panel.progress.valueChanged.connect(values.append)
    panel.show()
    with qtbot.waitSignal(panel.model_ready, timeout=10_000):
        panel.install_button.click()
        assert panel.installing and not panel.install_button.isEnabled()
    assert calls == [(plain_backend.paths.models_dir, "int8", calls[0][2])]
    assert calls[0][2].startswith("deskmate-io")  # built on the io lane, not the GUI thread
    assert values[:3] == [0, 1, 2] and values[-1] == 3  # one value per stage, then full
    assert "ready" in panel.stage.text() and panel.isHidden() and not panel.installing
    assert panel.install_button.isEnabled()


def test_an_install_error_shows_in_the_panel(qtbot, panel: FirstRunWidget, monkeypatch: pytest.MonkeyPatch) -> None:
    def failing_install(*_args: object, **_kwargs: object) -> None:
        raise ModelNotInstalled("building the default model needs torch, transformers (build-only, never used at "
                                "run time); install them with `pip install -e '.[model-build]'`")

    monkeypatch.setattr(default_model, "install", failing_install)
    ready: list[object] = []
    panel.model_ready.connect(lambda: ready.append(True))
    panel.show()
    panel.install_button.click()
    qtbot.waitUntil(lambda: "needs torch" in panel.stage.text(), timeout=10_000)
    assert not ready and not panel.installing and panel.install_button.isEnabled()
    assert not panel.isHidden() and panel.progress.isHidden()


def test_the_other_two_ways_open_the_models_settings(qtbot, panel: FirstRunWidget) -> None:
    for button in (panel.folder_button, panel.server_button):
        with qtbot.waitSignal(panel.open_settings, timeout=1_000) as blocker:
            button.click()
        assert blocker.args == ["models"]
    with qtbot.waitSignal(panel.open_settings, timeout=1_000) as blocker:
        panel.more_button.click()
    assert blocker.args == ["library"]


def test_a_panel_deleted_during_an_install_drops_the_result_quietly(qtbot, plain_backend: Backend, tasks: Tasks,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    panel = FirstRunWidget(plain_backend, tasks)  # not given to qtbot: the test deletes it
    release = threading.Event()

    def slow_install(models_dir: Path, precision: str = "int8", *, force: bool = False,
                     progress: default_model.Progress | None = None) -> default_model.InstallResult:
        assert progress is not None and release.wait(10)
        progress("building", 1, 1)
        return default_model.InstallResult(default_model.DEFAULT_NAME, models_dir, precision, True, 1, 0.1, "Paris")

    monkeypatch.setattr(default_model, "install", slow_install)
    errors: list[str] = []
    tasks.failed.connect(errors.append)
    panel.install_button.click()
    shiboken6.delete(panel)
    release.set()
    with qtbot.waitSignal(tasks.failed, timeout=2_000, raising=False) as blocker:
        tasks.run(lambda: None, lambda _: tasks.failed.emit("sentinel"), lane="io")  # after the install's callbacks
    assert blocker.signal_triggered and errors == ["sentinel"]


@pytest.fixture
def found_here(plain_backend: Backend, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The test catalog, a 16 GB machine, and one running Ollama; the detection timeouts asked for are recorded."""
    catalog_file = tmp_path / "catalog.toml"
    catalog_file.write_text(CATALOG, encoding="utf-8")
    plain_backend.settings.models.catalog_file = catalog_file
    plain_backend.settings.models.detect_servers = {"ollama": "http://127.0.0.1:11434"}
    timeouts: list[float] = []

    def detect_servers(servers: dict[str, str], timeout_s: float = 0.5) -> list[discovery.FoundServer]:
        assert set(servers) == {"ollama"} and threading.current_thread().name.startswith("deskmate-io")
        timeouts.append(timeout_s)
        return [discovery.FoundServer("ollama", OLLAMA, ["llama3.2:1b"], None),
                discovery.FoundServer("vllm", "http://127.0.0.1:8000/v1", [], "answered 500")]

    monkeypatch.setattr(discovery, "detect_servers", detect_servers)
    monkeypatch.setattr(library, "machine", lambda _models_dir: MACHINE)
    return timeouts


def test_the_panel_lists_running_servers_and_recommends_a_model(qtbot, panel: FirstRunWidget,
                                                                plain_backend: Backend,
                                                                found_here: list[float]) -> None:
    assert panel.found_row.isHidden() and panel.recommend_row.isHidden()
    with qtbot.waitSignal(panel.looked, timeout=10_000):
        panel.refresh()  # detection runs after the readiness check showed the panel
    assert found_here == [pytest.approx(0.5)]
    assert not panel.found_row.isHidden() and "ollama" in panel.found_label.text()
    assert [panel.server_combo.itemText(i) for i in range(panel.server_combo.count())] == [
        f"ollama/llama3.2:1b ({OLLAMA})"]  # the server that answered badly is not offered
    assert [panel.model_combo.itemText(i) for i in range(panel.model_combo.count())] == [
        "Tiny Chat (recommended)", "Odd Chat"]  # what fits, the recommendation first; Huge Chat does not fit
    detail = panel.choice_detail.text()
    assert "1.2 GB to download" in detail and "about a minute at 20 MB/s" in detail and "Short answers" in detail
    panel.model_combo.setCurrentIndex(1)
    assert "400.0 MB to download" in panel.choice_detail.text() and "unverified" in panel.choice_detail.text()

    with qtbot.waitSignal(panel.model_chosen, timeout=10_000) as blocker:
        panel.use_server_button.click()
    assert blocker.args == ["ollama/llama3.2:1b"]
    spec = {s.name: s for s in catalog.load(plain_backend.paths.models_catalog)}["ollama/llama3.2:1b"]
    assert spec.base_url == OLLAMA and spec.kind == "openai"


def test_the_recommended_model_downloads_with_progress(qtbot, panel: FirstRunWidget, plain_backend: Backend,
                                                       found_here: list[float],
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeDownload()
    monkeypatch.setattr(download, "download", fake)
    with qtbot.waitSignal(panel.looked, timeout=10_000):
        panel.refresh()
    values: list[int] = []
    panel.progress.valueChanged.connect(values.append)
    ready: list[Any] = []
    panel.model_ready.connect(lambda: ready.append(True))
    with qtbot.waitSignal(panel.model_chosen, timeout=10_000) as blocker:
        panel.download_button.click()
        assert not panel.download_button.isEnabled() and not panel.install_button.isEnabled()
        assert not panel.cancel_button.isHidden()
    assert blocker.args == ["local/tiny-chat"] and fake.calls[0][:2] == ("tiny-chat", "cpu")
    assert 250 in values and 500 in values and ready == [True]
    assert "Downloaded local/tiny-chat" in panel.stage.text() and panel.isHidden()
    assert "local/tiny-chat" in {s.name for s in catalog.load(plain_backend.paths.models_catalog)}
    assert panel.install_button.isEnabled() and panel.cancel_button.isHidden()


def test_nothing_found_shows_only_the_usual_ways(qtbot, panel: FirstRunWidget, plain_backend: Backend,
                                                 tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    catalog_file = tmp_path / "catalog.toml"
    catalog_file.write_text(CATALOG, encoding="utf-8")
    plain_backend.settings.models.catalog_file = catalog_file
    small = library.Machine(ram_bytes=512_000_000, free_disk_bytes=100 * 1_000_000_000)
    monkeypatch.setattr(library, "machine", lambda _models_dir: small)
    with qtbot.waitSignal(panel.looked, timeout=10_000):
        panel.refresh()
    assert panel.found_row.isHidden() and panel.recommend_row.isHidden() and panel.choice_detail.isHidden()
    assert panel.install_button.isEnabled() and not panel.stage.styleSheet()

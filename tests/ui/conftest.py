"""Fixtures for the desktop app's pytest-qt tests: an offscreen Qt, a real agent session with a scripted model.

The agent is real (graph, runner, index, checkpointer, threads); only the language model is the scripted
FakeChatModel, registered through the real registry. Tests wait on signals (qtbot.waitSignal / waitUntil), never sleep.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

# Before any QApplication exists: widgets render offscreen (the X11 tests start their own X server).
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402

from agents.providers.fake import FakeChatModel  # noqa: E402
from agents.providers.limits import Limits  # noqa: E402
from agents.providers.registry import ModelRegistry  # noqa: E402
from agents.providers.spec import ModelSpec  # noqa: E402
from app.gui.backend import Backend  # noqa: E402
from app.gui.tasks import Tasks  # noqa: E402
from app.secrets import MemorySecretStore  # noqa: E402
from app.settings import AppSettings, Paths, load_settings  # noqa: E402
from tools.index.embedder import OnnxEmbedder  # noqa: E402

FAKE_MODEL = "fake/scripted"


@pytest.fixture
def linked_embedder(models_dir: Path, onnx_embedder: OnnxEmbedder, deskmate_home: Path) -> Path:
    """The session's prepared embedder, linked into this test's home (preparing it again costs seconds)."""
    onnx_embedder.embed(["warm"])  # derives the int8 model into models_dir on first use
    target = deskmate_home / "data" / "models"
    target.mkdir(parents=True, exist_ok=True)
    for item in models_dir.iterdir():
        if not (target / item.name).exists():
            (target / item.name).symlink_to(item)
    return target


@pytest.fixture
def settings_paths(deskmate_home: Path) -> tuple[AppSettings, Paths]:
    settings, paths = load_settings()
    settings.models.default = FAKE_MODEL
    settings.models.first_token_timeout_s = 5.0
    return settings, paths


@pytest.fixture
def fake_model() -> FakeChatModel:
    return FakeChatModel()


@pytest.fixture
def backend(settings_paths: tuple[AppSettings, Paths], linked_embedder: Path,
            fake_model: FakeChatModel) -> Iterator[Backend]:
    """A Backend whose session is the real agent with ``fake_model`` as its only model; keys in memory."""
    from app.wiring.session import open_session

    settings, paths = settings_paths

    def opener(b: Backend):  # type: ignore[no-untyped-def]
        registry = ModelRegistry([ModelSpec(name=FAKE_MODEL, kind="fake")], Limits(retries=0))
        registry.register_factory("fake", lambda _spec, _registry: (fake_model, True))
        return open_session(b.settings, b.paths, registry=registry)

    b = Backend(settings, paths, secrets=MemorySecretStore(), opener=opener)
    yield b
    b.close()


@pytest.fixture
def tasks(qtbot) -> Iterator[Tasks]:  # type: ignore[no-untyped-def]
    t = Tasks()
    yield t
    t.shutdown(wait=True)


@pytest.fixture
def window(qtbot, backend: Backend, tasks: Tasks, docs: Path):  # type: ignore[no-untyped-def]
    """The main window over an index of ``docs``, its session open."""
    from tests.ui.scripted import opened_window

    return opened_window(qtbot, backend, tasks, docs)

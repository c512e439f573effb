from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from agents.providers.limits import Limits
from agents.providers.registry import ModelRegistry
from agents.providers.spec import ModelSpec
from tests.fakes import FakeEmbedder
from tools.index.config import IndexOptions
from tools.index.embedder import OnnxEmbedder
from tools.index.knowledge import KnowledgeIndex

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


@pytest.fixture(autouse=True)
def deskmate_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own Deskmate home: nothing touches the user's real folders."""
    home = tmp_path / "deskmate-home"
    monkeypatch.setenv("DESKMATE_HOME", str(home))
    return home


@pytest.fixture(scope="session")
def models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One prepared embedding model for the whole run (deriving it takes a few seconds)."""
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="session")
def onnx_embedder(models_dir: Path) -> OnnxEmbedder:
    return OnnxEmbedder(models_dir, device="cpu", threads=2)


@pytest.fixture(scope="session")
def default_model_dir() -> Path:
    """The embedded default model, built once from the packaged GGUF into .cache/models/ (shared with bench/)."""
    from agents.providers import default_model

    cache = REPO / ".cache" / "models"
    result = default_model.install(cache, "int8")
    return result.path


@pytest.fixture
def installed_default_model(default_model_dir: Path, deskmate_home: Path) -> Path:
    """The default model placed where this test's Deskmate home expects it (a link, not a rebuild)."""
    target = deskmate_home / "data" / "models" / default_model_dir.name
    target.parent.mkdir(parents=True, exist_ok=True)
    target.symlink_to(default_model_dir, target_is_directory=True)
    return target


@pytest.fixture
def docs(tmp_path: Path) -> Path:
    """Two small notes (a passport and a backup policy) that the agent, CLI and UI tests ask about."""
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "passport.md").write_text(
        "# Passport\n\nRenewing a passport takes about three weeks.\nYou need the old passport and two photos.\n"
        "The fee is 95 euros, paid at the counter.\n", encoding="utf-8")
    (folder / "backup.md").write_text(
        "# Backups\n\nBackups run every night at two o'clock.\nThey are kept for thirty days on the archive server.\n",
        encoding="utf-8")
    return folder


@pytest.fixture
def fake_embedder() -> FakeEmbedder:
    return FakeEmbedder()


@pytest.fixture
def make_index(tmp_path: Path) -> Iterator[object]:
    """Factory for indexes on real LanceDB in tmp_path; closes them all at the end."""
    opened: list[KnowledgeIndex] = []

    def factory(embedder: object, name: str = "index", **options: object) -> KnowledgeIndex:
        index = KnowledgeIndex(tmp_path / name, embedder, IndexOptions(**options))  # type: ignore[arg-type]
        opened.append(index)
        return index

    yield factory
    for index in opened:
        index.close()


@pytest.fixture
def registry() -> ModelRegistry:
    """One scripted fake model, "fake/m", and no retries (tests/unit/agents/helpers.py ``fake`` scripts it)."""
    return ModelRegistry([ModelSpec(name="fake/m", kind="fake")], Limits(retries=0))

"""Settings: DESKMATE_HOME relocation, file and environment precedence, clear errors; the package layout."""

from __future__ import annotations

from pathlib import Path

import pytest

import tools
from app.settings import Paths, load_settings
from tests.conftest import REPO
from tools.errors import ConfigError


def test_tools_package_is_this_repository():
    assert Path(tools.__file__).resolve().parent == REPO / "tools"


def test_home_relocates_every_path(tmp_path, deskmate_home):
    paths = Paths.resolve()
    assert all(str(p).startswith(str(deskmate_home)) for p in (paths.config_dir, paths.data_dir, paths.log_dir,
                                                                 paths.index_dir, paths.models_dir, paths.log_file))
    other = Paths.resolve(tmp_path / "other")
    assert other.data_dir == (tmp_path / "other" / "data").resolve()


def test_file_then_environment_precedence(deskmate_home, monkeypatch):
    settings, paths = load_settings()
    assert settings.index.chunk_tokens == 256
    paths.settings_file.parent.mkdir(parents=True)
    paths.settings_file.write_text("[index]\nchunk_tokens = 200\nexclude = ['*.log']\n")
    settings, _ = load_settings()
    assert settings.index.chunk_tokens == 200
    assert settings.index.options().excludes[-1] == "*.log"
    monkeypatch.setenv("DESKMATE_INDEX__CHUNK_TOKENS", "300")
    assert load_settings()[0].index.chunk_tokens == 300


def test_invalid_settings_name_the_problem(deskmate_home):
    _, paths = load_settings()
    paths.settings_file.parent.mkdir(parents=True)
    paths.settings_file.write_text("[index]\nchunk_tokens = 5\n")
    with pytest.raises(ConfigError, match="index.chunk_tokens"):
        load_settings()
    paths.settings_file.write_text("[index\n")
    with pytest.raises(ConfigError, match="settings.toml"):
        load_settings()

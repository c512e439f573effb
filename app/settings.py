"""AppSettings: every setting Deskmate reads, from defaults, the settings file and DESKMATE_* variables."""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

import platformdirs
import tomli_w
from pydantic import BaseModel, Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict, TomlConfigSettingsSource

from agents.providers.limits import Limits
from tools.errors import ConfigError
from tools.index.config import IndexOptions

APP_NAME = "Deskmate"


@dataclass(frozen=True, slots=True)
class Paths:
    """Where Deskmate keeps its files. With a home folder, everything lives under it."""

    config_dir: Path
    data_dir: Path
    log_dir: Path

    @property
    def settings_file(self) -> Path:
        return self.config_dir / "settings.toml"

    @property
    def index_dir(self) -> Path:
        return self.data_dir / "index"

    @property
    def models_dir(self) -> Path:
        return self.data_dir / "models"

    @property
    def models_catalog(self) -> Path:
        return self.config_dir / "models.toml"

    @property
    def log_file(self) -> Path:
        return self.log_dir / "deskmate.log"

    def prepare(self) -> None:
        """Create the data and log folders; ConfigError, in one line, when one is a file or cannot be written."""
        for folder in (self.data_dir, self.log_dir):
            blocker = next((p for p in (folder, *folder.parents) if p.exists() and not p.is_dir()), None)
            if blocker is not None:
                raise ConfigError(f"{blocker} is a file, not a folder, so Deskmate cannot keep its files in {folder}: "
                                  "choose another folder with --home or DESKMATE_HOME")
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise ConfigError(f"cannot create {folder} ({exc.strerror}): choose another folder with --home or "
                                  "DESKMATE_HOME") from exc
            if not os.access(folder, os.W_OK | os.X_OK):
                raise ConfigError(f"{folder} is read-only, and Deskmate writes its index and log there: make it "
                                  "writable, or choose another folder with --home or DESKMATE_HOME")

    @classmethod
    def resolve(cls, home: str | Path | None = None) -> Paths:
        """``home`` (or DESKMATE_HOME) relocates everything; otherwise the platform's user folders."""
        home = home or os.environ.get("DESKMATE_HOME") or None
        if home:
            base = Path(home).expanduser().resolve()
            return cls(base / "config", base / "data", base / "logs")
        data = Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))
        return cls(Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)), data, data / "logs")


class IndexSettings(BaseModel):
    include: list[str] = Field(default_factory=list, description="Only index files matching one of these globs.")
    exclude: list[str] = Field(default_factory=list, description="Also skip names matching these globs.")
    default_excludes: bool = True
    max_file_mb: float = Field(50.0, gt=0)
    parse_seconds: float = Field(60.0, gt=0)
    chunk_tokens: int = Field(256, ge=64, le=512)
    overlap_tokens: int = Field(32, ge=0, le=128)
    parse_workers: int | None = Field(None, ge=0, description="Parser processes; unset = half the cores.")
    reconcile_minutes: float = Field(10.0, gt=0, description="How often the watcher re-checks every root.")

    def options(self) -> IndexOptions:
        return IndexOptions(
            include=tuple(self.include),
            exclude=tuple(self.exclude),
            use_default_excludes=self.default_excludes,
            max_file_bytes=int(self.max_file_mb * 1024 * 1024),
            parse_seconds=self.parse_seconds,
            chunk_tokens=self.chunk_tokens,
            overlap_tokens=self.overlap_tokens,
        )


class EmbedderSettings(BaseModel):
    device: Literal["auto", "cpu", "cuda"] = "auto"
    threads: int | None = Field(None, ge=1)


# The servers' default addresses: Ollama answers /api/tags, the others the OpenAI-compatible /v1/models.
DETECT_SERVERS = {
    "ollama": "http://127.0.0.1:11434",
    "lmstudio": "http://127.0.0.1:1234/v1",
    "llamacpp": "http://127.0.0.1:8080/v1",
    "vllm": "http://127.0.0.1:8000/v1",
    "jan": "http://127.0.0.1:1337/v1",
}


class ModelSettings(BaseModel):
    default: str = Field("local/smollm2-135m", description="The model `generate` and the agent use by default.")
    large: str | None = Field(None, description="A larger model the agent sends hard requests to first.")
    fallbacks: list[str] = Field(default_factory=list, description="More models to try, in order, when those fail.")
    default_precision: Literal["int8", "int4"] = "int8"
    device: Literal["auto", "cpu", "cuda", "dml"] = "auto"
    threads: int | None = Field(None, ge=1, description="CPU threads for local models; unset = one per core.")
    context_tokens: int = Field(4096, ge=256, description="Prompt plus answer for local models (prefill is slow).")
    max_tokens: int = Field(512, ge=1)
    catalog_file: Path | None = Field(None, description="A model catalog to use instead of the packaged one.")
    detect_servers: dict[str, str] = Field(
        default_factory=lambda: dict(DETECT_SERVERS),
        description="Local model servers looked for on first run and by `providers detect`: name -> address.")
    first_token_timeout_s: float = Field(60.0, gt=0)
    total_timeout_s: float = Field(300.0, gt=0)
    retries: int = Field(2, ge=0, le=10)
    breaker_failures: int = Field(3, ge=1)
    breaker_reset_s: float = Field(30.0, gt=0)

    def limits(self) -> Limits:
        return Limits(
            first_token_timeout_s=self.first_token_timeout_s,
            total_timeout_s=self.total_timeout_s,
            retries=self.retries,
            breaker_failures=self.breaker_failures,
            breaker_reset_s=self.breaker_reset_s,
            device=self.device,
            threads=self.threads,
            local_context_tokens=self.context_tokens,
            max_tokens=self.max_tokens,
        )


Approval = Literal["ask", "always", "never"]


def _default_approvals() -> dict[str, Approval]:
    # Reads run without asking; every tool that writes, opens or leaves the machine asks (a missing key asks too).
    return {"write_note": "ask", "open_path": "ask", "remember": "ask", "forget": "ask"}


class AgentSettings(BaseModel):
    max_steps: int = Field(4, ge=1, le=12, description="Model calls per turn; bounds tool rounds.")
    system_prompt: str = Field("", max_length=4000, description="Your own instructions, added to every model call "
                               "(recorded in each trace by version).")
    approvals: dict[str, Approval] = Field(
        default_factory=_default_approvals,
        description="Per tool with side effects: ask the user, always allow, or never allow.",
    )


class DesktopSettings(BaseModel):
    """The desktop app: tray, quick-ask, theme, notifications."""

    keep_in_tray: bool = Field(True, description="Closing the main window keeps Deskmate running in the tray.")
    quick_ask_shortcut: str = Field("Ctrl+Alt+Space", description="Global shortcut for quick-ask; empty = none.")
    quick_ask_prefill: Literal["none", "selection", "clipboard"] = "none"
    paste_back: bool = Field(False, description="Quick ask's Replace selection pastes the result back (X11, with "
                             "xdotool); otherwise it is copied for you to paste.")
    start_at_login: bool = False
    theme: Literal["system", "light", "dark"] = "system"
    notify_index_done: bool = Field(True, description="A notification when an indexing run of 10 s or more ends.")
    watch_folders: bool = Field(True, description="Keep the index fresh while the app runs.")


class TrustSettings(BaseModel):
    """What Deskmate keeps about each turn, and what it masks in what it keeps or sends."""

    traces: bool = Field(True, description="Store a trace of every turn in traces.sqlite3 (`deskmate traces`).")
    trace_max_turns: int = Field(5000, ge=1, description="Keep at most this many turns' traces.")
    trace_max_days: float = Field(90.0, gt=0, description="Drop traces older than this many days.")
    redact_documents: bool = Field(False, description="Withhold document text (questions, answers, quotes, "
                                                      "snippets, what a remote model was sent) from traces.")
    redact_pii: bool = Field(False, description="Also mask emails, phone, IBAN and card numbers in traces and in "
                                                "what remote models are sent (secrets are always masked).")
    otel_endpoint: str | None = Field(None, description="Also send each stored trace (as stored, redacted) to this "
                                                        "OpenTelemetry collector, OTLP over HTTP, e.g. "
                                                        "http://localhost:4318; none: nothing is sent.")
    otel_headers: dict[str, str] = Field(default_factory=dict, description="HTTP headers for the collector "
                                                                           "(e.g. an authorization token).")

    @field_validator("otel_endpoint")
    @classmethod
    def _collector_url(cls, value: str | None) -> str | None:
        if not value:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"an OpenTelemetry collector is an http(s) URL with a host, not {value!r}")
        return value


class AppSettings(BaseSettings):
    """Read once at start-up and passed down; nothing else reads the environment."""

    model_config = SettingsConfigDict(env_prefix="DESKMATE_", env_nested_delimiter="__", extra="forbid")

    home: Path | None = None
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    index: IndexSettings = Field(default_factory=IndexSettings)
    embedder: EmbedderSettings = Field(default_factory=EmbedderSettings)
    models: ModelSettings = Field(default_factory=ModelSettings)
    agent: AgentSettings = Field(default_factory=AgentSettings)
    desktop: DesktopSettings = Field(default_factory=DesktopSettings)
    trust: TrustSettings = Field(default_factory=TrustSettings)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Precedence: explicit arguments, then DESKMATE_* variables, then the settings file (when there is one).
        return init_settings, env_settings, TomlConfigSettingsSource(settings_cls)


def load_settings(home: str | Path | None = None) -> tuple[AppSettings, Paths]:
    """Build the settings and the paths for ``home`` (or DESKMATE_HOME, or the platform's folders)."""
    paths = Paths.resolve(home)

    class FileBackedSettings(AppSettings):
        model_config = SettingsConfigDict(**{**AppSettings.model_config, "toml_file": paths.settings_file})

    try:
        settings = FileBackedSettings(home=paths.config_dir.parent) if home else FileBackedSettings()
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        raise ConfigError(f"invalid settings ({paths.settings_file} or DESKMATE_* variables): {problems}") from exc
    except Exception as exc:  # a TOML syntax error surfaces as a plain exception from the source
        raise ConfigError(f"cannot read {paths.settings_file}: {exc}") from exc
    return settings, paths


def save_settings(settings: AppSettings, paths: Paths) -> None:
    """Write ``settings`` to the settings file, atomically (a crash leaves the old file or the new one, never half).

    Only what differs from the defaults is written, so later releases can change a default the user never touched.
    """
    data = settings.model_dump(mode="json", exclude={"home"}, exclude_defaults=True, exclude_none=True)
    paths.settings_file.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".settings-", suffix=".toml", dir=paths.settings_file.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            tomli_w.dump(data, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, paths.settings_file)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise

"""Value objects that configure the knowledge index; built by the app from its settings."""

from __future__ import annotations

from dataclasses import dataclass, field

# Folders and files nobody wants in a personal knowledge index. Matched against each path component
# (directories) or the file name (files), case-sensitively, with fnmatch patterns.
DEFAULT_EXCLUDES: tuple[str, ...] = (
    ".*",  # hidden files and folders: .git, .venv, .cache, .DS_Store ...
    "node_modules",
    "__pycache__",
    "venv",
    "env",
    "site-packages",
    "build",
    "dist",
    "target",
    "*.egg-info",
    "*.pyc",
    "*.o",
    "*.so",
    "*.dll",
    "*.exe",
    "*.class",
    "*.jar",
    "*.zip",
    "*.tar",
    "*.gz",
    "*.7z",
    "*.png",
    "*.jpg",
    "*.jpeg",
    "*.gif",
    "*.mp3",
    "*.mp4",
    "*.iso",
    "*.lock",
    "*~",
)


@dataclass(frozen=True, slots=True)
class IndexOptions:
    """How files are selected, parsed and chunked."""

    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    use_default_excludes: bool = True
    max_file_bytes: int = 50 * 1024 * 1024
    parse_seconds: float = 60.0
    max_chars: int = 5_000_000
    max_pages: int = 2_000
    chunk_tokens: int = 256
    overlap_tokens: int = 32
    # Files handed to the store in one commit; each commit is a Lance version, so batch them.
    files_per_commit: int = 200
    chunks_per_commit: int = 2_000
    excludes: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        base = DEFAULT_EXCLUDES if self.use_default_excludes else ()
        object.__setattr__(self, "excludes", tuple(base) + tuple(self.exclude))

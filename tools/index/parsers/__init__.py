"""File parsers for the knowledge index: which files we index and how each format becomes a ParsedDocument.

Every parser either returns a :class:`~tools.index.document.ParsedDocument` or raises
:class:`~tools.index.document.ParseError` whose message is a short reason for the user; library exceptions are
translated at this boundary. Text leaving this boundary is valid Unicode (no lone surrogates), which the tokenizer
and the store require. Format modules are imported on first use, so indexing plain text never pays for loading the
PDF or office libraries.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from tools.index.document import ParseBudget, ParsedDocument, ParseError
from tools.index.parsers.decoding import error_detail

__all__ = ["SUPPORTED", "file_type_for", "parse_file"]

Parser = Callable[[Path, ParseBudget, str], ParsedDocument]

SUPPORTED: dict[str, str] = {
    # Prose and data
    ".txt": "text", ".text": "text",
    ".md": "markdown", ".markdown": "markdown",
    ".rst": "rst",
    ".csv": "csv", ".tsv": "tsv",
    ".json": "json", ".jsonl": "jsonl", ".ndjson": "jsonl",
    ".html": "html", ".htm": "html", ".xhtml": "html",
    ".pdf": "pdf",
    ".docx": "docx",
    ".odt": "odt",
    ".epub": "epub",
    # Source code and configuration
    ".py": "python", ".pyi": "python",
    ".js": "javascript", ".mjs": "javascript", ".cjs": "javascript", ".jsx": "javascript",
    ".ts": "typescript", ".tsx": "typescript",
    ".java": "java",
    ".c": "c", ".h": "c",
    ".cpp": "cpp", ".cc": "cpp", ".cxx": "cpp", ".hpp": "cpp", ".hh": "cpp", ".hxx": "cpp",
    ".cs": "csharp",
    ".go": "go",
    ".rs": "rust",
    ".rb": "ruby",
    ".php": "php",
    ".swift": "swift",
    ".kt": "kotlin", ".kts": "kotlin",
    ".scala": "scala",
    ".sh": "shell", ".bash": "shell", ".zsh": "shell",
    ".sql": "sql",
    ".r": "r",
    ".lua": "lua",
    ".pl": "perl", ".pm": "perl",
    ".dart": "dart",
    ".toml": "toml",
    ".yaml": "yaml", ".yml": "yaml",
    ".ini": "ini", ".cfg": "ini",
}  # fmt: skip

# Files that conventionally have no extension but are plain text worth indexing.
_TEXT_NAMES = frozenset(
    "readme license licence copying authors contributors changelog changes news notice install todo makefile"
    " dockerfile containerfile vagrantfile procfile".split()
)

# file_type -> (module in this package, function in it); anything else in SUPPORTED is source code.
_PARSERS: dict[str, tuple[str, str]] = {
    "text": ("text", "parse"),
    "markdown": ("markdown", "parse"),
    "rst": ("rst", "parse"),
    "csv": ("delimited", "parse"),
    "tsv": ("delimited", "parse"),
    "json": ("jsondata", "parse"),
    "jsonl": ("jsondata", "parse"),
    "html": ("html", "parse"),
    "pdf": ("pdf", "parse"),
    "docx": ("office", "parse_docx"),
    "odt": ("office", "parse_odt"),
    "epub": ("epub", "parse"),
}
_SOURCE = ("source", "parse")
_DEFAULT_BUDGET = ParseBudget()
# Python strings can hold lone surrogates (a JSON "\ud800" escape, a non-UTF-8 file name's stem); every later stage
# (the tokenizer, Arrow, SQLite) refuses them, which stopped a whole sync at the first such file.
_SURROGATE = re.compile("[\ud800-\udfff]")


def file_type_for(path: Path) -> str | None:
    """Return the file type ``path`` is indexed as ("markdown", "python", "pdf", ...), or None to skip it."""
    suffix = path.suffix.lower()
    if suffix:
        return SUPPORTED.get(suffix)
    return "text" if path.name.lower() in _TEXT_NAMES else None


def _parser(file_type: str) -> Parser:
    module_name, function = _PARSERS.get(file_type, _SOURCE)
    try:
        module = importlib.import_module(f"{__name__}.{module_name}")
    except ImportError as error:
        missing = error.name or error_detail(error)
        raise ParseError(f"{file_type} support is not installed ({missing} missing)") from error
    parser: Parser = getattr(module, function)
    return parser


def _valid_unicode(document: ParsedDocument) -> ParsedDocument:
    """Replace each lone surrogate with U+FFFD, one character for one, so that character offsets still hold."""
    document.title = _SURROGATE.sub("\ufffd", document.title)
    for position, block in enumerate(document.blocks):
        if _SURROGATE.search(block.text) or any(_SURROGATE.search(heading) for heading in block.heading_path):
            document.blocks[position] = replace(
                block, text=_SURROGATE.sub("\ufffd", block.text),
                heading_path=tuple(_SURROGATE.sub("\ufffd", heading) for heading in block.heading_path))
    return document


def parse_file(path: Path, budget: ParseBudget = _DEFAULT_BUDGET) -> ParsedDocument:
    """Parse ``path`` by its file type; raises ParseError, and only ParseError, when it cannot be parsed."""
    file_type = file_type_for(path)
    if file_type is None:
        raise ParseError(f"unsupported file type: {path.suffix or path.name}")
    try:
        return _valid_unicode(_parser(file_type)(path, budget, file_type))
    except ParseError:
        raise
    except FileNotFoundError as error:
        raise ParseError("file not found") from error
    except IsADirectoryError as error:
        raise ParseError("is a directory, not a file") from error
    except PermissionError as error:
        raise ParseError("permission denied") from error
    except OSError as error:
        raise ParseError(f"could not read the file: {error.strerror or error_detail(error)}") from error
    except RecursionError as error:
        raise ParseError(f"{file_type} document nested too deeply") from error
    except MemoryError as error:
        raise ParseError("file too large to parse in memory") from error
    except Exception as error:
        # Libraries raise all sorts of things on malformed input; the caller only ever has to handle ParseError.
        raise ParseError(f"could not parse {file_type}: {error_detail(error)}") from error

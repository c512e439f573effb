"""A conversation's scope: the folders, files, file types and dates its searches and file tools keep to.

Typed as ``folder:~/Projects, type:pdf, after:2024-01-01`` (``--scope`` on ask/chat), shown as chips, mentioned with
``@contract.pdf``, and kept in the checkpointed graph state as a plain row (``as_dict``/``of``). Folders and files are
one choice (a file under any of the folders, or one of the files); types and dates narrow it further. ``after`` is
the first day kept, ``before`` the first day left out, both in local time.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from datetime import time as clock_time
from pathlib import Path
from typing import Any

from tools.errors import ToolInputError
from tools.index.parsers import SUPPORTED
from tools.index.search import SearchFilters

MAX_SCOPE_CHARS = 4000
MAX_ENTRIES = 100

# Words people use for kinds of file, and the file types (or extensions, for formats the index does not read) each
# covers. Shared with tools/index/inventory.py.
TYPE_WORDS: dict[str, tuple[str, ...]] = {
    "pdf": ("pdf",),
    "spreadsheet": ("csv", "tsv", "xlsx", "xls", "ods"),
    "note": ("markdown", "text", "rst"),
    "markdown": ("markdown",),
    "text": ("text",),
    "slide": ("pptx", "ppt", "odp", "key"),
    "presentation": ("pptx", "ppt", "odp", "key"),
    "email": ("eml", "msg", "mbox"),
    "e-mail": ("eml", "msg", "mbox"),
    "image": ("png", "jpg", "jpeg", "gif", "webp", "heic", "bmp", "tif", "tiff", "svg"),
    "photo": ("png", "jpg", "jpeg", "heic", "webp"),
    "picture": ("png", "jpg", "jpeg", "gif", "webp", "heic", "bmp"),
    "word": ("docx", "odt", "doc"),
    "webpage": ("html",),
    "ebook": ("epub",),
    "code": tuple(sorted(set(SUPPORTED.values()) - {
        "text", "markdown", "rst", "csv", "tsv", "json", "jsonl", "html", "pdf", "docx", "odt", "epub"})),
}
_EVERY_FILE = frozenset({"document", "documents", "doc", "docs", "file", "files", "all", "any"})
_KEYS = {"folder": "folders", "folders": "folders", "dir": "folders", "file": "files", "files": "files",
         "type": "types", "types": "types", "after": "after", "from": "after", "since": "after", "before": "before"}
_KEY_AHEAD = re.compile(r"\s+(?=(?:" + "|".join(_KEYS) + r")\s*:)", re.I)
_KEYED = re.compile(r"^\s*([A-Za-z][A-Za-z-]*)\s*:(.*)$", re.S)
_DATE = re.compile(r"^(\d{4})(?:-(\d{1,2}))?(?:-(\d{1,2}))?$")
_MENTION = re.compile(r'(?<!\S)@(?:"([^"\n]{1,300})"|([^\s"]{1,300}))')
_TRAILING = ".,;:!?)]}'"


def file_types(word: str) -> tuple[str, ...] | None:
    """The file types a word names ("PDFs", "spreadsheets", ".md", "python"), or None when it names none."""
    w = word.strip().lower().lstrip(".")
    for candidate in (w, w[:-1] if w.endswith("s") else w, w[:-2] if w.endswith("es") else w):
        if candidate in TYPE_WORDS:
            return TYPE_WORDS[candidate]
        if "." + candidate in SUPPORTED:
            return (SUPPORTED["." + candidate],)
        if candidate in SUPPORTED.values():
            return (candidate,)
    return None


def type_of(path: str, file_type: str | None = None) -> set[str]:
    """What ``path`` counts as for a type filter: its indexed type and its extension (for formats not read)."""
    suffix = Path(path).suffix.lower().lstrip(".")
    return {t for t in (file_type, SUPPORTED.get("." + suffix), suffix) if t}


def day_start(day: date) -> datetime:
    """Local midnight at the start of ``day`` (naive: ``timestamp()`` reads it in local time)."""
    return datetime.combine(day, clock_time())


def _under(path: str, folder: str) -> bool:
    folder = folder.rstrip(os.sep + (os.altsep or "")) or os.sep
    return path.startswith(folder if folder.endswith(os.sep) else folder + os.sep)


@dataclass(frozen=True, slots=True)
class Scope:
    """What a conversation keeps to; the empty scope keeps to nothing in particular (the whole index)."""

    folders: tuple[str, ...] = ()
    files: tuple[str, ...] = ()
    types: tuple[str, ...] = ()
    after: date | None = None
    before: date | None = None

    @property
    def empty(self) -> bool:
        return not (self.folders or self.files or self.types or self.after or self.before)

    def filters(self) -> SearchFilters:
        """The search filters that keep a search inside this scope."""
        return SearchFilters(
            folders=self.folders, paths=self.files, file_types=self.types,
            modified_after=day_start(self.after) if self.after else None,
            modified_before=day_start(self.before) if self.before else None,
        )

    def allows(self, path: str, *, file_type: str | None = None, mtime: float | None = None) -> bool:
        """Whether a file is inside the scope; ``mtime`` (epoch seconds) unknown passes the date range."""
        if (self.folders or self.files) and path not in self.files and not any(_under(path, f) for f in self.folders):
            return False
        if self.types and not type_of(path, file_type) & set(self.types):
            return False
        if mtime is not None:
            if self.after and mtime < day_start(self.after).timestamp():
                return False
            if self.before and mtime >= day_start(self.before).timestamp():
                return False
        return True

    def _labelled(self) -> list[tuple[str, str, str]]:
        """(label, field, value) for each chip; a folder or file shows its name unless another has the same name."""
        out: list[tuple[str, str, str]] = []
        for kind, values in (("folder", self.folders), ("file", self.files)):
            names = [Path(v).name or v for v in values]
            for value, name in zip(values, names, strict=True):
                out.append((f"{kind}: {name if names.count(name) == 1 else value}", kind + "s", value))
        out += [(f"type: {t}", "types", t) for t in self.types]
        if self.after:
            out.append((f"from {self.after.isoformat()}", "after", ""))
        if self.before:
            out.append((f"before {self.before.isoformat()}", "before", ""))
        return out

    def describe(self) -> list[str]:
        """The chip labels: "folder: Projects", "type: pdf", "from 2024-01-01", "before 2025-01-01"."""
        return [label for label, _, _ in self._labelled()]

    def without(self, label: str) -> Scope:
        """The scope less the chip ``label`` (unchanged when no chip has that label)."""
        gone = {(name, value) for lab, name, value in self._labelled() if lab == label}
        return Scope(
            tuple(f for f in self.folders if ("folders", f) not in gone),
            tuple(f for f in self.files if ("files", f) not in gone),
            tuple(t for t in self.types if ("types", t) not in gone),
            None if ("after", "") in gone else self.after,
            None if ("before", "") in gone else self.before,
        )

    def with_files(self, files: Iterable[str]) -> Scope:
        """The scope of a turn that ``@``-mentions ``files``: those files only.

        A mention is explicit, so the thread's folders, types and dates do not hide the file the user named.
        """
        named = tuple(dict.fromkeys(files))
        return Scope(files=named) if named else self

    def as_dict(self) -> dict[str, Any]:
        """The scope as plain JSON types (lists, strings, None), as the checkpointed state keeps it."""
        return {"folders": list(self.folders), "files": list(self.files), "types": list(self.types),
                "after": self.after.isoformat() if self.after else None,
                "before": self.before.isoformat() if self.before else None}

    @classmethod
    def of(cls, row: Mapping[str, Any] | Scope | None) -> Scope:
        """The scope a stored row describes (None: the empty scope); a malformed row is a ToolInputError."""
        if row is None:
            return cls()
        if isinstance(row, Scope):
            return row
        if not isinstance(row, Mapping):
            raise ToolInputError(f"a stored scope must be a mapping, not {type(row).__name__}")

        def strings(key: str) -> tuple[str, ...]:
            value = row.get(key) or []
            if not isinstance(value, list | tuple) or not all(isinstance(v, str) and "\x00" not in v for v in value):
                raise ToolInputError(f"the stored scope's {key} must be a list of strings")
            return tuple(value)[:MAX_ENTRIES]

        def day(key: str) -> date | None:
            value = row.get(key)
            if value is None:
                return None
            if not isinstance(value, str):
                raise ToolInputError(f"the stored scope's {key} must be a date like 2024-01-01")
            return _parse_date(value, key)

        return cls(strings("folders"), strings("files"), strings("types"), day("after"), day("before"))


@dataclass(frozen=True, slots=True)
class Mentions:
    """The files ``@``-mentioned in a text, the text without them, and the mentions that named no one file."""

    paths: list[str]
    rest: str
    ambiguous: dict[str, list[str]] = field(default_factory=dict)  # mention -> the files it could mean
    unknown: list[str] = field(default_factory=list)  # mentions that name no indexed file


def parse_scope(text: str, *, home: Path | None = None) -> Scope:
    """The scope ``text`` describes: ``folder:~/Projects, type:pdf, after:2024-01-01, file:"/x/my file.pdf"``.

    Entries are separated by commas or by the next ``key:``; a comma-separated value without a key continues the key
    before it (``type:pdf, docx``). Folders and files become absolute (``~`` is ``home``; a relative path is taken
    from the current folder, as a shell does); types are lower case without a dot ("md" is the index's "markdown").
    Dates are ``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD``.
    """
    if not isinstance(text, str):
        raise ToolInputError("the scope must be text")
    if "\x00" in text:
        raise ToolInputError("the scope contains a NUL byte")
    if len(text) > MAX_SCOPE_CHARS:
        raise ToolInputError(f"the scope is {len(text)} characters long; at most {MAX_SCOPE_CHARS} are read")
    found: dict[str, list[str]] = {"folders": [], "files": [], "types": []}
    dates: dict[str, date] = {}
    key: str | None = None
    for piece in (p for chunk in _split_commas(text) for p in _KEY_AHEAD.split(chunk)):
        if not piece.strip():
            continue
        keyed = _KEYED.match(piece)
        # "C:\x" is a Windows drive after a folder key, not a key of its own.
        if keyed and not (len(keyed.group(1)) == 1 and keyed.group(2)[:1] in ("\\", "/")):
            name = keyed.group(1).lower()
            if name not in _KEYS:
                raise ToolInputError(f"unknown scope key {keyed.group(1)!r}: use folder, file, type, after or before")
            key, value = _KEYS[name], keyed.group(2)
        elif key is None:
            raise ToolInputError(f"{piece.strip()!r} is not key:value; write for example folder:~/Projects or type:pdf")
        else:
            value = piece
        value = _unquote(value)
        if not value:
            raise ToolInputError(f"the scope key {key} has no value")
        if key in ("after", "before"):
            if key in dates:
                raise ToolInputError(f"the scope gives {key} twice")
            dates[key] = _parse_date(value, key)
        elif key == "types":
            found["types"].extend(_types(value))
        else:
            found[key].append(_absolute(value, home, folder=key == "folders"))
    if sum(len(v) for v in found.values()) > MAX_ENTRIES:
        raise ToolInputError(f"the scope names more than {MAX_ENTRIES} folders, files and types")
    after, before = dates.get("after"), dates.get("before")
    if after and before and after >= before:
        raise ToolInputError(f"no day is both from {after.isoformat()} and before {before.isoformat()}")
    return Scope(tuple(dict.fromkeys(found["folders"])), tuple(dict.fromkeys(found["files"])),
                 tuple(dict.fromkeys(found["types"])), after, before)


def _split_commas(text: str) -> list[str]:
    """``text`` cut at commas outside double quotes."""
    parts: list[str] = []
    current: list[str] = []
    quoted = False
    for ch in text:
        if ch == '"':
            quoted = not quoted
        if ch == "," and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    return parts


def _unquote(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1].strip()
    return value


def _parse_date(value: str, key: str) -> date:
    match = _DATE.match(value.strip())
    if not match:
        raise ToolInputError(f"{key}:{value} is not a date; write it as 2024, 2024-03 or 2024-03-15")
    year, month, day = int(match.group(1)), int(match.group(2) or 1), int(match.group(3) or 1)
    try:
        return date(year, month, day)
    except ValueError as exc:
        raise ToolInputError(f"{key}:{value} is not a date ({exc})") from None


def _types(value: str) -> list[str]:
    word = value.strip().lower().lstrip(".")
    if word in _EVERY_FILE:
        raise ToolInputError(f"type:{value} means every file; leave the type out, or name one such as pdf or docx")
    if not re.fullmatch(r"[a-z0-9][a-z0-9+_-]{0,15}", word):
        raise ToolInputError(f"type:{value} is not a file type; name one such as pdf, docx, markdown or spreadsheet")
    return list(file_types(word) or (word,))


def _absolute(value: str, home: Path | None, *, folder: bool) -> str:
    """``value`` as an absolute path; a folder's links resolved (the index stores folders resolved), a file's parent."""
    if value == "~" or value.startswith(("~/", "~" + os.sep)):
        value = str(home or Path.home()) + value[1:]
    elif value.startswith("~"):
        raise ToolInputError(f"{value}: only ~ (your home folder) is understood, not ~user")
    path = os.path.abspath(value)
    if folder:
        return os.path.realpath(path)
    # A file may be a link the index keeps under its own name (a link into another indexed folder).
    return os.path.join(os.path.realpath(os.path.dirname(path)), os.path.basename(path))


def find_mentions(text: str, known_paths: Iterable[str]) -> Mentions:
    """The indexed files ``@``-mentioned in ``text`` (``@contract.pdf``, ``@docs/contract.pdf``, ``@"my file.pdf"``).

    A mention names a file by its name, by the end of its path, or by its name without the extension when that is
    unique; a mention that fits several files names none of them (they are in ``ambiguous``). Leading mentions are
    taken out of the text; a mention inside a sentence is replaced by the file's name, so the sentence still reads.
    """
    known = list(dict.fromkeys(known_paths))
    paths: list[str] = []
    ambiguous: dict[str, list[str]] = {}
    unknown: list[str] = []
    pieces: list[str] = []
    last = 0
    leading = True
    for match in _MENTION.finditer(text):
        name = match.group(1) if match.group(1) is not None else match.group(2).rstrip(_TRAILING)
        end = match.start() + (len(match.group(0)) if match.group(1) is not None else 1 + len(name))
        before = text[last:match.start()]
        leading = leading and not before.strip()
        candidates = _candidates(name, known)
        if len(candidates) == 1:
            paths.append(candidates[0])
            replacement = "" if leading else os.path.basename(candidates[0])
        else:
            if candidates:
                ambiguous[name] = candidates
            else:
                unknown.append(name)
            replacement = name
            leading = False
        pieces += [before, replacement]
        last = end
    pieces.append(text[last:])
    rest = re.sub(r"[ \t]{2,}", " ", "".join(pieces)).strip()
    return Mentions(list(dict.fromkeys(paths)), rest, ambiguous, unknown)


def mentions(text: str, known_paths: Iterable[str]) -> tuple[list[str], str]:
    """The files ``@``-mentioned in ``text`` and the text without them (see ``find_mentions``)."""
    found = find_mentions(text, known_paths)
    return found.paths, found.rest


def _candidates(name: str, known: list[str]) -> list[str]:
    if not name or "\x00" in name:
        return []
    wanted = name if os.path.isabs(name) else name.replace("\\", "/").removeprefix("./")
    for match in (
        lambda p: p == name,
        lambda p: p.replace("\\", "/").endswith("/" + wanted),
        lambda p: os.path.basename(p).lower() == wanted.lower(),
        lambda p: Path(p).stem.lower() == wanted.lower(),
    ):
        found = [p for p in known if match(p)]
        if found:
            return found
    return []

"""The path sandbox: the one place that decides whether a path a tool was given may be touched.

File tools reach only the indexed roots. A path is refused, with a ToolInputError saying why, when it is empty, holds a
NUL byte, is too long, starts with ``~``, has a ``..`` part, or leads (itself or through a link anywhere along it)
outside every root. A relative path is taken relative to each root in turn. What comes back is the real path, links
resolved, so the caller acts on the place that was checked.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path, PurePosixPath, PureWindowsPath

from tools.calc import ToolInputError

MAX_PATH_CHARS = 1024
MAX_NAME_CHARS = 255


def _under(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def inside(path: str, roots: Sequence[str]) -> bool:
    """Whether the absolute, resolved ``path`` is one of ``roots`` (resolved) or lies under one."""
    return any(_under(path, root) for root in roots)


def _check_text(path: object) -> str:
    if not isinstance(path, str) or not path.strip():
        raise ToolInputError("the path is empty; give the path of an indexed file")
    if "\x00" in path:
        raise ToolInputError("the path contains a NUL byte; give a plain file path")
    if len(path) > MAX_PATH_CHARS:
        raise ToolInputError(f"the path is too long ({len(path)} characters; the limit is {MAX_PATH_CHARS})")
    if path.startswith("~"):
        raise ToolInputError(f"{path} starts with ~; give the full path of a file inside an indexed folder")
    parts = [*PurePosixPath(path).parts, *PureWindowsPath(path).parts]
    if ".." in parts:
        raise ToolInputError(f"{path} contains '..'; give the full path of a file inside an indexed folder")
    if any(len(part) > MAX_NAME_CHARS for part in parts):
        raise ToolInputError(f"{path} has a name longer than {MAX_NAME_CHARS} characters")
    return path


def confine(path: str, roots: Sequence[str]) -> Path:
    """The real path of ``path`` if it lies inside one of ``roots`` (absolute, resolved); ToolInputError otherwise."""
    text = _check_text(path)
    if not roots:
        raise ToolInputError("no folders are indexed yet, so no file can be read or opened")
    given = Path(text)
    candidates = [given] if given.is_absolute() else [Path(root) / given for root in roots]
    refused: str | None = None
    inside_roots: list[Path] = []
    for candidate in candidates:
        try:
            real = candidate.resolve()
        except (OSError, RuntimeError) as exc:  # a link loop, a name the file system rejects
            raise ToolInputError(f"{path} cannot be resolved: {exc}") from exc
        if not inside(str(real), roots):
            lexical = os.path.normpath(candidate)
            refused = (f"{path} leads through a link to {real}, which is not inside an indexed folder"
                       if inside(lexical, roots) else f"{path} is not inside an indexed folder")
            continue
        if real.exists():
            return real
        inside_roots.append(real)
    if inside_roots:
        return inside_roots[0]  # inside, but missing: the caller says so
    raise ToolInputError(f"{refused}; only files in the indexed folders can be used")

"""The path sandbox: the one place that decides whether a path a tool was given may be touched.

File tools reach only the indexed roots. A path is refused, with a ToolInputError saying why, when it is empty, holds a
NUL byte, is too long, starts with ``~``, has a ``..`` part, or leads (itself or through a link anywhere along it)
outside every root. A relative path is taken relative to each root in turn. What comes back is the real path, links
resolved, so the caller acts on the place that was checked.

The same rule serves the index (walker.py): a link, to a file or a folder, is followed only when its target
(:func:`real_target`) lies :func:`inside` an indexed root, any of them. Files are read through :func:`open_inside`,
which checks what it opened, not the name it was given.
"""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Sequence
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import BinaryIO

from tools.errors import ToolInputError

MAX_PATH_CHARS = 1024
MAX_NAME_CHARS = 255


def _under(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def inside(path: str, roots: Sequence[str]) -> bool:
    """Whether the absolute, resolved ``path`` is one of ``roots`` (resolved) or lies under one."""
    return any(_under(path, root) for root in roots)


def real_target(path: str) -> str | None:
    """The real path ``path`` leads to through every link on the way; None for a dangling link or a link loop."""
    try:
        return os.path.realpath(path, strict=True)
    except (OSError, RuntimeError, ValueError):  # ELOOP, ENOENT, a name the file system rejects
        return None


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


# O_NONBLOCK: opening a FIFO planted under a file's name must not wait for a writer; fstat then refuses it.
_READ_FLAGS = (os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_NONBLOCK", 0)
               | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0))


def open_inside(path: str, roots: Sequence[str]) -> tuple[BinaryIO, str]:
    """``path`` opened for reading, with the real path of the file that was opened; ToolInputError if it may not be.

    The name is checked (:func:`confine`), then opened without following a link at its last part, then what was
    opened is checked again: a file or folder swapped for a link between the check and the open is refused.
    """
    real = confine(path, roots)
    try:
        fd = os.open(real, _READ_FLAGS)
    except FileNotFoundError:
        raise ToolInputError(f"{path} does not exist (any more)") from None
    except OSError as exc:
        if not real.is_symlink():
            raise ToolInputError(f"{path} cannot be opened: {exc.strerror or exc}") from None
        raise ToolInputError(f"{path} became a link while it was being opened; links are not followed here") from None
    try:
        opened = _opened_path(fd, str(real))
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise ToolInputError(f"{path} is not a regular file; give the path of an indexed file")
        if opened is None or not inside(opened, roots):
            raise ToolInputError(f"{path} changed while it was being opened and is now not inside an indexed folder")
        return os.fdopen(fd, "rb"), opened
    except BaseException:
        os.close(fd)
        raise


def _opened_path(fd: int, expected: str) -> str | None:
    """The real path of the file open at ``fd``, as the kernel knows it; None if that cannot be told."""
    if sys.platform.startswith("linux"):
        try:
            return os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            pass
    # Elsewhere: the file at the resolved name must be the one that was opened (same device and inode).
    again = real_target(expected)
    try:
        same = again is not None and os.path.samestat(os.stat(again, follow_symlinks=False), os.fstat(fd))
    except OSError:
        return None
    return again if same else None

"""Start at login: the XDG autostart entry on Linux (other platforms are not built yet and say so).

The entry runs the current ``deskmate`` executable with ``--minimized``, so a login starts Deskmate in the tray
rather than opening its window over whatever the user is doing.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

from tools.errors import ConfigError

ENTRY_NAME = "deskmate.desktop"
_RESERVED = frozenset(" \t\n\"'\\><~|&;$*?#()`")  # the spec's reserved characters
_NOT_BUILT = {"win32": "Windows", "cygwin": "Windows", "darwin": "macOS"}


def autostart_supported() -> tuple[bool, str]:
    """(True, "") where start at login works; otherwise False and a sentence saying why (for a tooltip)."""
    if sys.platform.startswith("linux"):
        return True, ""
    where = _NOT_BUILT.get(sys.platform, sys.platform)
    return False, f"Starting at login is not built yet for {where}."


def entry_path() -> Path:
    """``$XDG_CONFIG_HOME/autostart/deskmate.desktop``; the spec says to ignore a relative XDG_CONFIG_HOME."""
    config = os.environ.get("XDG_CONFIG_HOME", "")
    base = Path(config) if config and Path(config).is_absolute() else Path.home() / ".config"
    return base / "autostart" / ENTRY_NAME


def launch_command() -> list[str]:
    """How this Deskmate is started: the ``deskmate`` on PATH, else the program running now."""
    found = shutil.which("deskmate")
    if found:
        return [str(Path(found).resolve()), "--minimized"]
    program = Path(sys.argv[0]).resolve() if sys.argv and sys.argv[0] else None
    if program is None or program.suffix == ".py" or not os.access(program, os.X_OK):
        # ``python -m app`` (argv[0] is app/__main__.py): the interpreter of this environment runs the package.
        return [sys.executable, "-m", "app", "--minimized"]
    return [str(program), "--minimized"]


def set_autostart(enabled: bool) -> Path | None:
    """Write (True) or remove (False) the autostart entry; the entry's path when written, else None.

    Enabling where autostart is not supported raises ConfigError; disabling there is a no-op.
    """
    supported, why = autostart_supported()
    if not supported:
        if enabled:
            raise ConfigError(why)
        return None
    path = entry_path()
    if not enabled:
        path.unlink(missing_ok=True)
        return None
    _write_atomically(path, desktop_entry(launch_command()))
    return path


def desktop_entry(command: list[str]) -> str:
    exec_line = " ".join(_quote(arg) for arg in command)
    return (
        "[Desktop Entry]\n"
        "Type=Application\n"
        "Name=Deskmate\n"
        "Comment=A local-first desktop copilot, started in the tray\n"
        f"Exec={exec_line}\n"
        "Terminal=false\n"
        "X-GNOME-Autostart-enabled=true\n"
    )


def _quote(arg: str) -> str:
    """One Exec argument, quoted as the Desktop Entry spec asks (a path may hold spaces or reserved characters)."""
    arg = arg.replace("%", "%%")  # a lone % starts a field code such as %f
    if not any(c in _RESERVED for c in arg):
        return arg
    escaped = "".join("\\" + c if c in '"`$\\' else c for c in arg)
    # Inside a quoted string the .desktop parser first unescapes backslashes once more (the string-value rule).
    return '"' + escaped.replace("\\", "\\\\") + '"'


def _write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".deskmate-", suffix=".desktop", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise

"""The ``deskmate`` command line: the entry point, and the one place errors meet the user.

Parsing is in parser.py, the command table in commands.py, and each family of commands in its own module.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from app.cli import commands
from app.cli.parser import build_parser
from app.logs import configure_logging
from app.settings import load_settings
from tools.errors import DeskmateError

__all__ = ["EXIT_ERROR", "EXIT_OK", "EXIT_USAGE", "build_parser", "has_display", "main"]

log = logging.getLogger("deskmate")

EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2


def has_display() -> bool:
    """Whether a window can be shown: always on Windows and macOS; on Linux, with an X11 or Wayland display."""
    if sys.platform in ("win32", "darwin"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def _fail(message: str, code: int = EXIT_ERROR, *, logged: bool) -> int:
    """``message`` as one line on stderr (and in the log when it is open); ``code`` back."""
    from app.console import shown  # Rich only on this path: the desktop app's start-up does not pay for it

    line = " ".join(shown(message).split())
    print(f"deskmate: {line}", file=sys.stderr)
    if logged:  # before logging is set up, logging's last resort would print the same line a second time
        log.error("%s", line)
    return code


def _undecodable(arguments: Sequence[str]) -> str | None:
    """The first argument holding bytes that are not UTF-8: Python decodes them to lone surrogates."""
    return next((a for a in arguments if any("\ud800" <= c <= "\udfff" for c in a)), None)


def main(argv: Sequence[str] | None = None) -> int:
    arguments = sys.argv[1:] if argv is None else list(argv)
    bad = _undecodable(arguments)
    if bad is not None:
        return _fail(f"the argument \"{bad}\" is not valid UTF-8 text (\ufffd marks the bytes that do not decode): "
                     "give text and paths in UTF-8", EXIT_USAGE, logged=False)
    parser = build_parser()
    args = parser.parse_args(arguments)
    log_file: Path | None = None
    try:
        settings, paths = load_settings(args.home)
        paths.prepare()
        configure_logging(paths.log_file, settings.log_level, verbose=args.verbose, pii=settings.trust.redact_pii)
        log_file = paths.log_file
        log.debug("command %s with home %s", args.command, paths.data_dir)
        if args.command is None and (args.quick_ask is not None or args.minimized or has_display()):
            from app.gui.desktop import run_desktop  # Qt only for the app: the commands stay light

            return run_desktop(settings, paths, quick_ask=args.quick_ask is not None, minimized=args.minimized,
                               quick_text=args.quick_ask or None)
        return commands.dispatch(args, settings, paths)  # imports only the family of the command it runs
    except DeskmateError as exc:
        return _fail(str(exc), logged=log_file is not None)
    except BrokenPipeError:
        # Output piped into `head` and friends: stop quietly, like other command-line tools.
        sys.stderr.close()
        return EXIT_OK
    except OSError as exc:  # a full disk, a folder that went away or turned read-only: what and where, in one line
        where = f": {exc.filename}" if exc.filename else ""
        return _fail(f"{exc.strerror or exc}{where}", logged=log_file is not None)
    except KeyboardInterrupt:
        print("deskmate: interrupted; the next run resumes where this one stopped", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug: one line for the user, the traceback in the log (and on stderr with -v)
        if log_file is None:
            return _fail(f"unexpected error: {type(exc).__name__}: {str(exc)[:300]}", logged=False)
        log.exception("unexpected error")
        return _fail(f"unexpected error: {type(exc).__name__}: {str(exc)[:300]} (the details are in {log_file})",
                     logged=False)

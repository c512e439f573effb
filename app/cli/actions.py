"""The ``act`` command: an action (a prompt preset) on a text from ``--text`` or stdin, and ``act --list``."""

from __future__ import annotations

import argparse
import sys

from agents.presets import Preset, Presets, load_presets
from app.console import emit, err, out
from app.settings import AppSettings, Paths

MAX_CHARS = 20_000  # about 3,000 words: more is a document, better indexed and asked about
EXIT_USAGE = 2  # as app.cli.EXIT_USAGE: the input cannot be used as given


class _Refused(Exception):
    """The text cannot be used; the message says why and what to do instead."""


def act(args: argparse.Namespace, settings: AppSettings, paths: Paths) -> int:
    presets = load_presets(paths.config_dir / "prompts")
    for problem in presets.problems:
        err.print(f"note: preset {problem}", markup=False, soft_wrap=True)
    if args.list:
        _list(presets, args.json)
        return 0
    if args.action is None:
        return _refuse("name an action, e.g. `deskmate act summarise --text TEXT`; `deskmate act --list` shows them")
    preset = presets.get(args.action)
    arg = preset.argument(args.arg)  # a bad argument is refused before the session opens (seconds)
    try:
        text = _text(args.text)
    except _Refused as exc:
        return _refuse(str(exc))
    # Only now the agent (LangGraph, the index, the models: seconds): a list or a refusal does not wait for it.
    from agents.runner import TurnOptions
    from app.cli.turns import run_turn
    from app.wiring.session import open_session

    question = f"/{preset.word} {args.arg or ''}".strip()
    options = TurnOptions(action=preset.id, action_arg=arg, selection=text)
    # Approvals need the terminal; with the text on stdin there is no one to ask.
    interactive = args.text is not None and sys.stdin is not None and sys.stdin.isatty()
    with open_session(settings, paths, args.model, no_model=args.no_model) as session:
        done, traces = run_turn(session.runner, question, None, interactive, show=not args.json, options=options,
                                drafts=False)
    if args.json:
        emit({**done.as_dict(), "trace": traces})
    return 0


def _refuse(message: str) -> int:
    err.print(f"deskmate: {message}", markup=False, soft_wrap=True)
    return EXIT_USAGE


def _text(given: str | None) -> str:
    """The text to act on: ``--text``, else stdin (piped, never a terminal), UTF-8, not empty, not too long."""
    if given is None:
        stream = sys.stdin
        if stream is None or stream.isatty():
            raise _Refused("give the text with --text TEXT, or pipe it in: `pbpaste | deskmate act summarise`")
        buffer = getattr(stream, "buffer", None)
        if buffer is None:  # a text stream without bytes under it (tests, embedding): already decoded
            given = stream.read(MAX_CHARS * 4 + 1)
        else:
            # Four bytes at most per character: reading past that proves the text is too long without reading it all.
            raw = buffer.read(MAX_CHARS * 4 + 1)
            if len(raw) > MAX_CHARS * 4:
                raise _Refused(f"the text on stdin is longer than {MAX_CHARS:,} characters; an action takes at most "
                               "that: give less, or index the file and ask about it (`deskmate ask`)")
            try:
                given = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise _Refused(f"the text on stdin is not valid UTF-8 (at byte {exc.start}): convert it to UTF-8 "
                               "first, e.g. with iconv") from None
    text = given.removeprefix("\ufeff").replace("\r\n", "\n")
    if not text.strip():
        raise _Refused("there is no text to work on: give it with --text or on stdin")
    if len(text) > MAX_CHARS:
        raise _Refused(f"the text is {len(text):,} characters; an action takes at most {MAX_CHARS:,}: give less, or "
                       "index the file and ask about it (`deskmate ask`)")
    return text


def _argument(preset: Preset) -> str:
    if preset.arg is None:
        return ""
    choices = "|".join(preset.arg_choices)
    default = f" (default {preset.default_arg})" if preset.default_arg else ""
    return f"{preset.arg}{': ' + choices if choices else ''}{default}"


def _list(presets: Presets, as_json: bool) -> None:
    if as_json:
        emit([{**p.model_dump(), "ref": p.ref} for p in presets])
        return
    rows = [("word", "title", "argument", "from")]
    rows += [(f"/{p.word}", p.title, _argument(p) or "-", "shipped" if p.shipped else "yours") for p in presets]
    widths = [max(len(row[n]) for row in rows) for n in range(3)]
    for row in rows:  # one line per preset, never wrapped: a script can read it
        out.print("  ".join(value.ljust(width) for value, width in zip(row, widths, strict=False)) + "  " + row[3],
                  markup=False)

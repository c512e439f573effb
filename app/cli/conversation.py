"""The ``ask``, ``chat``, ``threads`` and ``memory`` commands: conversations with the agent on the terminal."""

from __future__ import annotations

import argparse
import dataclasses
import io
import sys
import time

from agents.conversations.checkpoints import open_checkpointer
from agents.conversations.threads import ThreadStore
from agents.guard.guards import scan
from agents.presets import Presets, load_presets, parse_command
from agents.runner import TurnOptions
from app.cli.turns import run_turn
from app.console import emit, err, is_text, out, styled
from app.settings import AppSettings, Paths
from app.wiring.index import open_index
from app.wiring.session import Session, open_session
from tools.errors import DeskmateError
from tools.index.scope import Scope, parse_scope
from tools.memory import MemoryStore


def _tell(notices: list[str]) -> None:
    """Say on stderr what the user should know about their stores, once."""
    for notice in notices:
        err.print(f"note: {notice}", markup=False, soft_wrap=True)
    notices.clear()


def _existing_thread(session: Session, thread: str | None) -> str | None:
    """``--thread`` continues a thread; a name that is none is an error, not a new thread by that name."""
    try:
        if thread is not None:
            session.threads.require(thread)
    finally:
        _tell(session.notices)
    return thread


def ask(args: argparse.Namespace, settings: AppSettings, paths: Paths) -> int:
    with open_session(settings, paths, args.model) as session:
        thread = _existing_thread(session, args.thread)
        done, traces = run_turn(session.runner, args.question, thread, sys.stdin.isatty(), show=not args.json,
                                options=TurnOptions(scope=parse_scope(args.scope) if args.scope else None))
    if args.json:
        emit({**done.as_dict(), "trace": traces})
    return 0


def run_memory(args: argparse.Namespace, settings: AppSettings, paths: Paths) -> int:
    index = open_index(settings, paths)
    try:
        store = MemoryStore(paths.data_dir / "memory", index.embedder)
        if args.memory_command == "add":
            memory = store.add(args.text)
            out.print(f"remembered {memory.id}: {memory.text}", markup=False)
            found = scan(memory.text)
            if found.suspicious:  # kept (the user typed it), and fenced whenever it is recalled: say so
                err.print(f"warning: this fact looks like instructions to the model ({found.reasons[0]}); it is "
                          "kept, but whenever it is recalled it is given to the model as untrusted data and any "
                          f"action in that turn asks first. `deskmate memory forget {memory.id}` removes it.")
        elif args.memory_command == "forget":
            gone = store.forget(args.id)
            if gone is None:
                raise DeskmateError(f"no memory {args.id!r}; `deskmate memory list` shows their ids")
            out.print(f"forgot {gone.id}: {gone.text}", markup=False)
        else:
            memories = store.all()
            if args.json:
                emit([{"id": m.id, "text": m.text, "created": m.created, "source": m.source} for m in memories])
            elif not memories:
                out.print("nothing remembered yet: `deskmate memory add TEXT` or ask \"remember that ...\"")
            for m in memories if not args.json else []:
                out.print(f"{m.id}  {m.text}", markup=False)
    finally:
        index.close()
    return 0


def run_threads(args: argparse.Namespace, settings: AppSettings, paths: Paths) -> int:
    notices: list[str] = []
    checkpointer = open_checkpointer(paths.data_dir / "threads.sqlite3", notices)
    try:
        threads = ThreadStore(checkpointer, notices)
        action = args.threads_command
        if action in ("list", "search"):
            found = threads.search(args.text) if action == "search" else threads.list()
            if args.json:
                emit([dataclasses.asdict(t) for t in found])
            elif not found:
                out.print("no threads yet: `deskmate ask QUESTION` starts one" if action == "list" else "no match")
            for t in found if not args.json else []:
                when = time.strftime("%Y-%m-%d %H:%M", time.localtime(t.updated))
                out.print(f"{t.thread_id}  {when}  {t.turns} turn(s)  {t.title}", markup=False)
        elif action == "show":
            for n, turn in enumerate(threads.messages(args.id), 1):
                out.print(styled((f"{n}. {turn.question}", "bold")))
                out.print(turn.answer)
        elif action == "export":
            if args.format == "json":
                emit(threads.export_json(args.id))
            else:
                sys.stdout.write(threads.export_markdown(args.id))
        elif action == "rename":
            threads.rename(args.id, args.title)
            out.print(f"renamed {args.id}")
        elif action == "delete":
            if not threads.delete(args.id):
                raise DeskmateError(f"no thread {args.id!r}; `deskmate threads list` shows their ids")
            out.print(f"deleted {args.id}")
    finally:
        checkpointer.conn.close()
        _tell(notices)
    return 0


def chat(args: argparse.Namespace, settings: AppSettings, paths: Paths) -> int:
    """A conversation on the terminal: streaming answers, approvals, /word actions, /scope, /new, /help, /quit."""
    interactive = sys.stdin.isatty()
    if isinstance(sys.stdin, io.TextIOWrapper):  # a line that is not UTF-8 is then refused below, not a crash
        sys.stdin.reconfigure(errors="surrogateescape")
    presets = load_presets(paths.config_dir / "prompts")
    for problem in presets.problems:
        err.print(f"note: preset {problem}", markup=False, soft_wrap=True)
    # None leaves the thread's own scope alone; a Scope (empty: cleared) is sent with every following turn.
    scope = parse_scope(args.scope) if args.scope else None
    held: Scope | None = None  # the scope the thread's last turn kept to, as the graph reported it
    with open_session(settings, paths, args.model) as session:
        runner = session.runner
        thread = _existing_thread(session, args.thread)
        err.print("Ask about your files. /help lists the commands, /new starts a new thread, /quit ends.",
                  soft_wrap=True)
        while True:
            try:
                line = input("you> " if interactive else "")
            except EOFError:
                break
            question = line.strip()
            if not is_text(question):  # bytes that are not UTF-8: the tokenizer and the stores cannot take them
                err.print("deskmate: that line is not valid UTF-8 text, so it was not sent: type it again")
                continue
            if question in ("/quit", "/exit"):
                break
            if question == "/new":
                thread, held = None, None
                err.print("new thread")
                continue
            if question == "/help":
                _help(presets)
                continue
            if question == "/scope" or question.startswith("/scope "):
                scope = _set_scope(question[len("/scope"):].strip(), scope, held)
                continue
            if not question:
                continue
            if question.startswith("/") and parse_command(question, presets) is None:
                err.print(styled(("(not a command: /help lists them; sent as a question)", "dim")))
            done, _ = run_turn(runner, question, thread, interactive, options=TurnOptions(scope=scope))
            thread, held = done.thread_id, Scope.of(done.scope) if done.scope else None
    return 0


def _help(presets: Presets) -> None:
    lines = ["/new            start a new thread",
             "/scope SPEC     only these files from now on, e.g. /scope folder:~/Projects,type:pdf,after:2024-01-01",
             "/scope          show the scope;  /scope clear  every indexed file again",
             "/help           this list;  /quit  end (or Ctrl+D)",
             "Actions on a text (type it after the command):"]
    for preset in presets.words().values():
        usage = f"/{preset.word}" + (f" [{'|'.join(preset.arg_choices) or preset.arg}]" if preset.arg else "")
        lines.append(f"  {usage:<40} {preset.title}")
    for line in lines:
        err.print(line, markup=False, soft_wrap=True)


def _set_scope(spec: str, scope: Scope | None, held: Scope | None) -> Scope | None:
    """``/scope``: show it; ``/scope clear``: every file again; ``/scope SPEC``: only those files from now on."""
    if not spec:
        shown = scope if scope is not None else held
        label = ", ".join(shown.describe()) if shown is not None else ""
        err.print(f"scope: {label or 'every indexed file'}", markup=False, soft_wrap=True)
        return scope
    if spec == "clear":
        err.print("scope cleared: every indexed file")
        return Scope()
    try:
        narrowed = parse_scope(spec)
    except DeskmateError as exc:
        err.print(f"deskmate: {exc}; the scope is unchanged", markup=False, soft_wrap=True)
        return scope
    err.print(f"scope: {', '.join(narrowed.describe()) or 'every indexed file'} (from the next question on)",
              markup=False, soft_wrap=True)
    return narrowed

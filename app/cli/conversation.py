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
from agents.runner import ApprovalNeeded, DraftAnswer, Runner, TokenDelta, Trace, TurnDone, TurnFailed
from agents.runner import Warning as SuspiciousText
from app.console import emit, err, is_text, out, printable, styled
from app.settings import AppSettings, Paths
from app.wiring.index import open_index
from app.wiring.session import Session, open_session
from tools.errors import DeskmateError
from tools.memory import MemoryStore


def _ask_user(request: ApprovalNeeded) -> bool:
    """A yes/no question on the terminal, every argument whole (wrapped) and literal; anything but yes declines.

    The consoles never parse markup or emoji codes: a model-chosen ``[/bold]`` is printed, not obeyed.
    """
    err.print(styled("Deskmate wants to run ", (request.tool, "bold"), " with:"))
    for name, value in request.details():
        err.print(f"  {name}: {value}")
    if request.reason:
        err.print(f"Careful: {request.reason}. Allow it only if you asked for this.")
    return input("Allow it? [y/N] ").strip().lower() in ("y", "yes")


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
        done, traces = _run_turn(session.runner, args.question, thread, sys.stdin.isatty(), show=not args.json)
    if args.json:
        emit({**done.as_dict(), "trace": traces})
    return 0


def _run_turn(runner: Runner, question: str, thread: str | None, interactive: bool,
              show: bool = True) -> tuple[TurnDone, list[dict[str, object]]]:
    """One turn: the draft (stderr) and the model's tokens (stdout) as they come, then the final answer if ``show``."""
    done: TurnDone | None = None
    streamed = False
    traces: list[dict[str, object]] = []
    for event in runner.ask(question, thread, approve=_ask_user if interactive else None):
        if isinstance(event, Trace):
            traces.append(event.event.as_dict())
        elif isinstance(event, TurnFailed):
            raise DeskmateError(event.error)
        elif isinstance(event, SuspiciousText):  # on stderr even with --json: the answer's reader must know
            err.print(f"warning: {event.source} looks like it holds instructions to the model, so it was treated as "
                      f"data: {'; '.join(event.reasons)}", markup=False, soft_wrap=True)
        elif isinstance(event, TurnDone):
            done = event
        elif show and isinstance(event, DraftAnswer):
            err.print(styled(("draft (from your files, while the model thinks):", "dim")))
            err.print(event.text)
        elif show and isinstance(event, TokenDelta):
            streamed = True
            sys.stdout.write(printable(event.text))  # model text: no escape sequence reaches the terminal
            sys.stdout.flush()
    assert done is not None
    if show:
        _print_answer(done, streamed)
    return done, traces


def _print_answer(done: TurnDone, streamed: bool) -> None:
    if streamed:
        sys.stdout.write("\n")
    if done.mode != "llm":
        if streamed:
            err.print(styled(("(the model's answer above was set aside; the answer from your files stands)", "dim")))
        out.print(done.answer)
    if done.mode != "fallback":  # a fallback answer already quotes and places its sources inline
        for n, citation in enumerate(done.citations, 1):
            out.print(f"[{n}] {citation.where()}: \"{citation.quote}\"")
    reason = f" ({done.fallback_reason})" if done.fallback_reason else ""
    err.print(styled((f"mode: {done.mode}{reason}; model: {done.model or '-'}; thread: {done.thread_id}; "
                      f"{done.latency_ms:.0f} ms", "dim")))
    sys.stdout.flush()


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
    """A conversation on the terminal: streaming answers, approvals, /new for a new thread, /quit or Ctrl+D to end."""
    interactive = sys.stdin.isatty()
    if isinstance(sys.stdin, io.TextIOWrapper):  # a line that is not UTF-8 is then refused below, not a crash
        sys.stdin.reconfigure(errors="surrogateescape")
    with open_session(settings, paths, args.model) as session:
        runner = session.runner
        thread = _existing_thread(session, args.thread)
        err.print("Ask about your files. /new starts a new thread, /quit ends.")
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
                thread = None
                err.print("new thread")
                continue
            if not question:
                continue
            done, _ = _run_turn(runner, question, thread, interactive)
            thread = done.thread_id
    return 0

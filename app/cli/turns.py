"""One turn of the agent on the terminal: the draft and the model's tokens as they come, then the answer and its label.

Shared by ``ask``, ``chat`` and ``act``, so every kind of answer is shown and labelled the same way.
"""

from __future__ import annotations

import sys

from agents.runner import ApprovalNeeded, DraftAnswer, Runner, TokenDelta, Trace, TurnDone, TurnFailed, TurnOptions
from agents.runner import Warning as SuspiciousText
from app.console import err, out, printable, styled
from tools.errors import DeskmateError

# Drafts that are never refined (a general request's or an action's "needs a model"): they are the answer, shown once.
FINAL = frozenset({"general", "action"})


def ask_user(request: ApprovalNeeded) -> bool:
    """A yes/no question on the terminal, every argument whole (wrapped) and literal; anything but yes declines.

    The consoles never parse markup or emoji codes: a model-chosen ``[/bold]`` is printed, not obeyed.
    """
    err.print(styled("Deskmate wants to run ", (request.tool, "bold"), " with:"))
    for name, value in request.details():
        err.print(f"  {name}: {value}")
    if request.reason:
        err.print(f"Careful: {request.reason}. Allow it only if you asked for this.")
    return input("Allow it? [y/N] ").strip().lower() in ("y", "yes")


def run_turn(runner: Runner, question: str, thread: str | None, interactive: bool, show: bool = True,
             options: TurnOptions | None = None, drafts: bool = True) -> tuple[TurnDone, list[dict[str, object]]]:
    """One turn: the draft (stderr) and the model's tokens (stdout) as they come, then the final answer if ``show``.

    ``drafts=False`` leaves the draft out (an action's draft, with no model, is its answer: shown once, at the end).
    """
    done: TurnDone | None = None
    streamed: list[str] = []
    traces: list[dict[str, object]] = []
    for event in runner.ask(question, thread, approve=ask_user if interactive else None, options=options):
        if isinstance(event, Trace):
            traces.append(event.event.as_dict())
        elif isinstance(event, TurnFailed):
            raise DeskmateError(event.error)
        elif isinstance(event, SuspiciousText):  # on stderr even with --json: the answer's reader must know
            err.print(f"warning: {event.source} looks like it holds instructions to the model, so it was treated as "
                      f"data: {'; '.join(event.reasons)}", markup=False, soft_wrap=True)
        elif isinstance(event, TurnDone):
            done = event
        elif show and drafts and isinstance(event, DraftAnswer) and event.workflow not in FINAL:
            where = "from your files, " if event.citations else ""
            err.print(styled((f"draft ({where}while the model thinks):", "dim")))
            err.print(event.text)
        elif show and isinstance(event, TokenDelta):
            streamed.append(event.text)
            sys.stdout.write(printable(event.text))  # model text: no escape sequence reaches the terminal
            sys.stdout.flush()
    assert done is not None
    if show:
        print_answer(done, "".join(streamed))
    return done, traces


def print_answer(done: TurnDone, streamed: str) -> None:
    """The answer (unless the streamed tokens were it), its sources, and one line saying what kind of answer it is."""
    if streamed:
        sys.stdout.write("\n")
    if done.mode != "llm" and done.answer.strip() != streamed.strip():
        if streamed:
            stands = "the answer from your files" if done.mode == "fallback" else "the answer below"
            err.print(styled((f"(the model's answer above was set aside; {stands} stands)", "dim")))
        out.print(done.answer)
    if done.mode != "fallback":  # a fallback answer already quotes and places its sources inline
        for n, citation in enumerate(done.citations, 1):
            out.print(f"[{n}] {citation.where()}: \"{citation.quote}\"")
    err.print(styled((label(done), "dim")), soft_wrap=True)  # one line, whatever the width: scripts read it
    sys.stdout.flush()


def label(done: TurnDone) -> str:
    """``mode: general (not from your files); route: general; model: ...; thread: ...; 812 ms``."""
    why = done.fallback_reason or ("not from your files" if done.mode == "general" else "")
    parts = [f"mode: {done.mode}" + (f" ({why})" if why else ""), f"route: {done.route}"]
    if done.action:
        parts.append(f"action: {done.action}")
    if done.query:
        parts.append(f"searched for: {done.query}")
    parts += [f"model: {done.model or '-'}", f"thread: {done.thread_id}", f"{done.latency_ms:.0f} ms"]
    return "; ".join(parts)

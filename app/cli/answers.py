"""The ``eval answers`` command: an answer set indexed in a temporary home and asked of the real agent, then scored.

The temporary home holds the index, threads, cache, memory and traces, so nothing of the user's own is read or
changed; the models (the embedder and the default model) are the user's, already prepared. See
agents/evaluation/answer_eval.py for the answer set's layout and what is measured.
"""

from __future__ import annotations

import argparse
import logging
import shutil
import tempfile
from pathlib import Path
from typing import Any

from rich.table import Table

from agents.evaluation.answer_eval import ask_all, load_answer_set, summarize
from app.console import cell, emit, err, out, progress_bar
from app.settings import AppSettings, Paths
from app.wiring.models import model_readiness, open_models
from app.wiring.session import open_session

log = logging.getLogger(__name__)


def _temporary_paths(home: Path, paths: Paths) -> Paths:
    """Everything under ``home``, but the prepared models shared with the user's data folder (a link)."""
    temp = Paths(home / "config", home / "data", home / "logs")
    temp.data_dir.mkdir(parents=True)
    try:
        paths.models_dir.mkdir(parents=True, exist_ok=True)
        temp.models_dir.symlink_to(paths.models_dir.resolve(), target_is_directory=True)
    except OSError as exc:  # no links allowed (Windows without the privilege): the embedder is prepared again
        log.info("models not shared with the temporary home: %s", exc)
    return temp


def run_answers(args: argparse.Namespace, settings: AppSettings, paths: Paths) -> int:
    questions = load_answer_set(args.dataset)
    model, no_model, note = args.model, args.no_model, None
    if not no_model and model is None:
        ready, why = model_readiness(settings, paths)
        if not ready:
            no_model, note = True, f"the default model is {why}: answered without a model (`deskmate models " \
                                   "install-default` builds it)"
    # The set's files are indexed whatever the user's own include/exclude globs say.
    index_settings = settings.index.model_copy(update={"include": [], "exclude": []})
    eval_settings = settings.model_copy(update={"index": index_settings})
    registry = open_models(settings, paths)
    with tempfile.TemporaryDirectory(prefix="deskmate-answers-") as tmp, progress_bar(not args.json) as progress:
        home = Path(tmp)
        docs = home / "docs"  # a copy: the set's own path may hold hidden or excluded folders (.cache, build)
        shutil.copytree(args.dataset / "docs", docs)
        temp_paths = _temporary_paths(home, paths)
        with open_session(eval_settings, temp_paths, model, registry=registry, no_model=no_model) as session:
            session.index.add_root(docs)
            report = session.index.sync(progress=progress)
            judged = ask_all(session.runner, questions, docs,
                             (lambda n: progress("questions", n, len(questions))) if progress else None)
    summary = summarize(judged)
    used = None if no_model else model or settings.models.default
    if args.json:
        emit({"dataset": str(args.dataset), "model": used, "note": note, "documents": report.added,
              "failed_documents": report.failures, "summary": summary, "answers": [j.as_dict() for j in judged]})
        return 0
    if note:
        err.print(note, markup=False, soft_wrap=True)
    out.print(f"{len(judged)} questions over {report.added} documents ({args.dataset}); model: "
              f"{used or 'none (answers from the files)'}")
    if report.failed:
        err.print(f"{report.failed} documents failed to index: {report.failures[:3]}", markup=False,
                  soft_wrap=True)
    _print_summary(summary)
    for j in judged:
        missing = [f for f in j.facts if f not in j.facts_found]
        if missing:
            out.print(f"  {j.id} [{j.mode}] missing {missing}: {j.question}")
        for quote in j.unsupported_quotes:
            out.print(f"  {j.id} [{j.mode}] quote not in its file: {quote[:80]!r}")
    return 0


def _rate(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def _print_summary(summary: dict[str, Any]) -> None:
    table = Table("mode", "questions", "cite prec", "support", "facts", "cites", "uncited", title="answers",
                  caption="cite prec: cited files that are expected; support: quotes found in their files; "
                          "facts: key-fact recall")
    for label, f in [("all", summary["all"]), *summary["by_mode"].items()]:
        table.add_row(cell(label), str(f["questions"]), _rate(f["citation_precision"]), _rate(f["support"]),
                      _rate(f["key_fact_recall"]), str(f["citations"]), str(f["uncited_answers"]))
    out.print(table)

"""Conversations: the conversation set with and without the default model, per kind, the rewrite, and latency.

The conversation set lives in tests/data/conversations: small documents written for it, with look-alikes side by
side (two services with a port and a maintenance window each, two budgets with the same fields, two products with a
warranty and a shipping time, two recipes, two invoices as PDFs), and conversations.jsonl: 2-4 turns each, every turn
of one kind (a first question, a follow-up that leans on the turns before it, a general request, an action on a
selection, a scoped question, a count over the index) with what a right answer holds (see
agents/evaluation/conversation_eval.py). The documents are indexed in a temporary home with the real ONNX embedder,
and the agent is opened through its composition root (``open_session``), as the app and the CLI open it. Every
conversation runs in its own thread, twice:

- without a model: every answer deterministic (extracts, counts, routes, the message a general request gets);
- with the embedded default model (SmolLM2-135M-Instruct, int8, from .cache/models; loaded and warmed up first).

Per run and kind: turns, answered right (an expected string, the expected file cited and its look-alike not, nothing
outside the thread's scope), cited right, the route taken against the expected one. Then source hit@1 of the
follow-ups searched with the hybrid search as they are and as their standalone rewrite, in the same run. With the
model: the first model token and the draft of follow-ups (and of first questions, the same bound), p50/p95, and the
first token of a selection action (summarise) on a 300-word selection. The process is pinned to ``--cores`` cores
(default 2, the goal's machine); numbers are printed, never asserted. ``--no-model`` runs only the first run,
``--quick`` 8 conversations that hold every kind of turn and 3 action timings, ``--misses`` prints every wrong turn.
"""

from __future__ import annotations

import os
import re
import shutil
import time
from pathlib import Path
from typing import Any

import common

CONVERSATIONS = common.REPO / "tests" / "data" / "conversations"
MODELS_DIR = common.REPO / ".cache" / "models"
QUICK_CONVERSATIONS = 8
SELECTION_WORDS = 300
_MARKUP = re.compile(r"[#*`>|_-]+")


def pin(cores: int) -> str:
    """Pin this process (and the threads it starts later) to its first ``cores`` CPUs; what it runs on."""
    if cores <= 0 or not hasattr(os, "sched_setaffinity"):
        return f"all {os.cpu_count()} cores"
    chosen = sorted(os.sched_getaffinity(0))[:cores]
    os.sched_setaffinity(0, chosen)
    return f"{len(chosen)} cores ({', '.join(map(str, chosen))})"


def selections(docs: Path, count: int) -> list[str]:
    """``count`` different 300-word selections of plain prose from the set's Markdown documents."""
    words = [w for p in sorted(docs.rglob("*.md")) for w in _MARKUP.sub(" ", p.read_text(encoding="utf-8")).split()]
    step = max(1, (len(words) - SELECTION_WORDS) // max(count, 1))
    return [" ".join((words * 2)[i * step:i * step + SELECTION_WORDS]) for i in range(count)]


def quick_set(conversations: list[Any]) -> list[Any]:
    """The first conversation that brings each kind of turn, then the next ones up to QUICK_CONVERSATIONS."""
    chosen: list[Any] = []
    for c in conversations:
        if {t.kind for t in c.turns} - {t.kind for k in chosen for t in k.turns}:
            chosen.append(c)
    rest = [c for c in conversations if c not in chosen]
    return sorted(chosen + rest[:max(0, QUICK_CONVERSATIONS - len(chosen))], key=conversations.index)


def model_registry(threads: int | None) -> tuple[Any, str]:
    """The default model's registry, loaded and warmed up (or None and why the model run cannot happen)."""
    from langchain_core.messages import HumanMessage

    from agents.providers import default_model
    from agents.providers.limits import Limits
    from agents.providers.registry import ModelRegistry
    from tools.errors import DeskmateError

    try:
        path = default_model.install(MODELS_DIR, "int8").path
        registry = ModelRegistry([default_model.spec(path.parent, "int8")], Limits(device="cpu", threads=threads))
        chat = registry.chat_model(default_model.DEFAULT_NAME)
        seconds, _ = common.timed(lambda: list(chat.stream([HumanMessage("Say hello.")], max_tokens=8)))
    except DeskmateError as exc:
        return None, f"unavailable: {exc}"
    return registry, f"{path} (loaded and warmed in {seconds:.1f} s)"


def action_first_tokens(runner: Any, texts: list[str]) -> list[float]:
    """The first model token of a summarise action on each text, in ms from the start of its turn (a new thread)."""
    from agents.runner import TokenDelta, TurnOptions

    firsts = []
    for text in texts:
        started, first = time.perf_counter(), None
        for event in runner.ask("/summarise", options=TurnOptions(action="summarise", selection=text)):
            if isinstance(event, TokenDelta) and first is None:
                first = (time.perf_counter() - started) * 1000
        if first is not None:  # the whole turn is run, so the next one starts with the model idle
            firsts.append(first)
    return firsts


def _ms(values: list[float], p: float) -> str:
    return f"{common.percentile(values, p):.0f}" if values else "n/a"


def _rate(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def main() -> None:
    p = common.parser(__doc__.splitlines()[0])
    p.add_argument("--no-model", action="store_true", help="only the run without a model")
    p.add_argument("--cores", type=int, default=2, help="pin the process to this many cores (0: leave it)")
    p.add_argument("--actions", type=int, default=10, help="selection actions timed with the model (--quick: 3)")
    p.add_argument("--misses", action="store_true", help="also print every wrong turn")
    args = p.parse_args()
    cores = pin(args.cores)
    from agents.evaluation.conversation_eval import load_conversations, run_conversations
    from agents.providers import default_model
    from app.settings import AppSettings, EmbedderSettings, IndexSettings, Paths
    from app.wiring.session import open_session

    conversations = load_conversations(CONVERSATIONS)
    if args.quick:
        conversations = quick_set(conversations)
    threads = args.cores if args.cores > 0 else None
    registry, model_info = (None, "not run (--no-model)") if args.no_model else model_registry(threads)
    turns = sum(len(c.turns) for c in conversations)
    info = common.print_header("conversation", {"conversations": len(conversations), "turns": turns,
                                                "pinned to": cores, "model": model_info})
    settings = AppSettings(embedder=EmbedderSettings(device="cpu", threads=threads),
                           index=IndexSettings(parse_workers=1))
    reports: dict[str, Any] = {}
    action_ms: list[float] = []
    with common.temp_home() as home:
        docs = home / "docs"  # a copy, so the index never sees a repository path (hidden or excluded components)
        shutil.copytree(CONVERSATIONS / "docs", docs)
        paths = Paths(home / "config", home / "data", home / "logs")
        paths.data_dir.mkdir(parents=True)
        build_s = 0.0
        for name, reg in (("no model", None), ("default model", registry)):
            if name == "default model" and reg is None:
                continue
            model = default_model.DEFAULT_NAME if reg is not None else None
            with open_session(settings, paths, model, reg, no_model=reg is None) as session:
                if name == "no model":
                    session.index.add_root(docs)
                    build_s, _ = common.timed(session.index.sync)
                reports[name] = run_conversations(session.runner, conversations, docs, with_model=reg is not None,
                                                  index=session.index)
                if reg is not None:
                    texts = selections(docs, 3 if args.quick else args.actions)
                    action_ms = action_first_tokens(session.runner, texts)

    files = sum(1 for f in (CONVERSATIONS / "docs").rglob("*") if f.is_file())
    print(f"Corpus: {files} documents (indexed in {build_s:.1f} s), {len(conversations)} conversations, "
          f"{turns} turns.\n")
    rows = [[name, s.kind, s.n, s.right, s.cited_right, s.route_right,
             ", ".join(f"{route or 'failed'} {n}" for route, n in sorted(s.routes.items()))]
            for name, report in reports.items() for s in report.by_kind()]
    print(common.table(["run", "kind", "turns", "right", "cited right", "route right", "routes taken"], rows))
    print("\nFollow-ups, source hit@1 with the hybrid search (retrieval alone, same run):")
    hits = {name: report.hit_at_1() for name, report in reports.items()}
    print(common.table(["run", "follow-ups", "rewritten", "as it is", "standalone rewrite"],
                       [[name, h["followups"], h["rewritten"], _rate(h["as_is"]), _rate(h["rewrite"])]
                        for name, h in hits.items()]))
    latency: dict[str, list[float]] = {}
    if "default model" in reports:
        model_turns = reports["default model"].turns
        for kind in ("followup", "first"):
            latency[f"{kind} first token"] = [t.first_token_ms for t in model_turns
                                              if t.kind == kind and t.first_token_ms is not None]
            latency[f"{kind} draft"] = [t.draft_ms for t in model_turns if t.kind == kind and t.draft_ms is not None]
        latency[f"summarise first token ({SELECTION_WORDS} words)"] = action_ms
        goals = {"followup first token": "< 2000", "followup draft": "< 300",
                 f"summarise first token ({SELECTION_WORDS} words)": "< 1500"}
        print(f"\nLatency with the default model, {cores}:")
        print(common.table(["what", "n", "p50 ms", "p95 ms", "goal p95 ms"],
                           [[what, len(v), _ms(v, 50), _ms(v, 95), goals.get(what, "")]
                            for what, v in latency.items()]))
    else:
        print(f"\nRun with the default model skipped: {model_info}")
    if args.misses:
        for name, report in reports.items():
            print(f"\nWrong turns, {name}:")
            for t in (t for t in report.turns if not t.right or not t.route_right):
                print(f"  {t.conversation}#{t.turn} [{t.kind}] {t.question} -> route {t.route or 'failed'} "
                      f"(want {t.expected_route}), mode {t.mode}, cited {', '.join(t.cited) or 'nothing'}"
                      + (f", error {t.error}" if t.error else ""))
                print("    answer: " + " ".join(t.answer.split())[:300])
    common.write_json(args.json, {
        "benchmark": "conversation", "machine": info, "quick": args.quick, "documents": files,
        "index_seconds": build_s, "model": model_info, "latency_ms": latency,
        "runs": {name: report.as_dict() for name, report in reports.items()},
    })


if __name__ == "__main__":
    main()

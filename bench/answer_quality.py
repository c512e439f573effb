"""Answer quality of `ask`: accuracy and citation precision in fallback mode and with the default model, plus latency.

The answer set lives in tests/data/answerset: ten short documents written for it (policies, a runbook, a FAQ, notes,
a recipe, a manual, a README) and questions.jsonl, one question per line with the file that holds its answer
(``source``) and the strings a correct answer must contain (``answer_contains``, taken verbatim from that file). The
documents are indexed in a temporary home with the real ONNX embedder (2 CPU threads), and every question is asked
through the real ask graph and ``Runner`` (intent rules, hybrid retrieval, deterministic draft, model), twice:

- fallback: ``build_graph`` without a model, so every answer is the deterministic, extractive one;
- llm: with the embedded default model (SmolLM2-135M-Instruct, int8, from .cache/models) through the registry; an
  answer the graph rejects (unusable, unsupported, uncited) or a model failure falls back to the draft, and the
  tally of those reasons is printed.

Per run: answer accuracy (share of answers containing every ``answer_contains`` string, case- and whitespace-
insensitive), citation precision (share of all citations whose file name is the question's ``source``), source
hit@1 (first citation from the right file; no citation is a miss), and p50/p95 of ``draft_ms`` (question to
deterministic draft) and of ``latency_ms`` (question to final answer). The model is loaded and warmed up before its
run, so no question pays for that. The llm run also reports how often the model's streamed text held the answer,
whether or not the graph accepted it. Without an installable default model the llm run is skipped, saying why.
Numbers are printed, never asserted. ``--quick`` asks the first 10 questions; ``--misses`` prints every wrong answer
with its citations and, where the graph rejected it, what the model said.
"""

from __future__ import annotations

import json
import re
import shutil
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import common

ANSWERSET = common.REPO / "tests" / "data" / "answerset"
MODELS_DIR = common.REPO / ".cache" / "models"
QUICK_QUESTIONS = 10
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class Question:
    id: str
    question: str
    source: str
    answer_contains: tuple[str, ...]


def load_questions(path: Path) -> list[Question]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [Question(r["id"], r["question"], r["source"], tuple(r["answer_contains"])) for r in rows]


def _normal(text: str) -> str:
    return _SPACE.sub(" ", text).strip().lower()


def judge(question: Question, done: Any, model_text: str) -> dict[str, Any]:
    """One question's outcome: the final answer, its citations and whether each is right."""
    answer = _normal(done.answer)
    files = [Path(c.path).name for c in done.citations]
    return {
        "id": question.id, "question": question.question, "source": question.source,
        "want": list(question.answer_contains),
        "correct": all(_normal(s) in answer for s in question.answer_contains),
        "model_text_correct": bool(model_text) and all(_normal(s) in _normal(model_text)
                                                       for s in question.answer_contains),
        "cited_files": files, "right_citations": sum(f == question.source for f in files),
        "hit_at_1": bool(files) and files[0] == question.source,
        "mode": done.mode, "intent": done.intent, "fallback_reason": done.fallback_reason,
        "latency_ms": done.latency_ms, "draft_ms": done.draft_ms, "answer": done.answer,
        "quotes": [c.quote for c in done.citations], "model_text": model_text,
    }


def ask_all(graph: Any, questions: list[Question]) -> list[dict[str, Any]]:
    from agents.runner import Runner, TokenDelta, TurnDone, TurnFailed

    runner = Runner(graph)
    results = []
    for question in questions:
        events = list(runner.ask(question.question))
        final = next(e for e in reversed(events) if isinstance(e, TurnDone | TurnFailed))
        if isinstance(final, TurnFailed):  # counted as a wrong, uncited answer rather than stopping the run
            final = SimpleNamespace(answer="", mode="failed", fallback_reason=final.error, citations=[], intent=None,
                                    latency_ms=float("nan"), draft_ms=None)
        # What the model streamed, kept even when the graph rejected it and the draft stands.
        model_text = "".join(e.text for e in events if isinstance(e, TokenDelta))
        results.append(judge(question, final, model_text))
    return results


def reason_kind(reason: str) -> str:
    """A fallback reason without the details that differ per answer (the quoted claim, the error text)."""
    return reason.split(":", 1)[0].strip()


def metrics(results: list[dict[str, Any]]) -> dict[str, Any]:
    cited = sum(len(r["cited_files"]) for r in results)
    drafts = [r["draft_ms"] for r in results if r["draft_ms"] is not None]
    latencies = [r["latency_ms"] for r in results if r["mode"] != "failed"]
    modes = Counter(r["mode"] for r in results)
    by_mode = {mode: sum(r["correct"] for r in results if r["mode"] == mode) / count for mode, count in modes.items()}
    return {
        "questions": len(results),
        "accuracy": sum(r["correct"] for r in results) / len(results),
        "citation_precision": sum(r["right_citations"] for r in results) / cited if cited else float("nan"),
        "source_hit_at_1": sum(r["hit_at_1"] for r in results) / len(results),
        "citations": cited,
        "uncited_answers": sum(not r["cited_files"] for r in results),
        "modes": dict(modes),
        "accuracy_by_mode": by_mode,
        "model_text_accuracy": sum(r["model_text_correct"] for r in results) / len(results),
        "fallback_reasons": dict(Counter(reason_kind(r["fallback_reason"]) for r in results if r["fallback_reason"])),
        "draft_ms": {"p50": common.percentile(drafts, 50), "p95": common.percentile(drafts, 95)},
        "latency_ms": {"p50": common.percentile(latencies, 50), "p95": common.percentile(latencies, 95)},
    }


def llm_getter() -> tuple[Callable[[], Any] | None, str]:
    """The default model's getter, loaded and warmed up, and what was loaded (or why the llm run cannot happen)."""
    from langchain_core.messages import HumanMessage

    from agents.providers import default_model
    from agents.providers.limits import Limits
    from agents.providers.registry import ModelRegistry
    from tools.errors import DeskmateError

    try:
        path = default_model.install(MODELS_DIR, "int8").path
        registry = ModelRegistry([default_model.spec(path.parent, "int8")], Limits())
        chat = registry.chat_model(default_model.DEFAULT_NAME)
        hello = [HumanMessage("Say hello.")]
        seconds, _ = common.timed(lambda: list(chat.stream(hello, max_tokens=8)))
    except DeskmateError as exc:
        return None, f"unavailable: {exc}"
    return (lambda: registry.chat_model(default_model.DEFAULT_NAME)), f"{path} (loaded and warmed in {seconds:.1f} s)"


def _ms(value: float) -> str:
    return "n/a" if value != value else f"{value:.0f}"  # NaN when no draft was streamed


def main() -> None:
    p = common.parser(__doc__.splitlines()[0])
    p.add_argument("--misses", action="store_true", help="also print every wrong answer with its citations")
    args = p.parse_args()
    from agents.conversations.checkpoints import open_checkpointer
    from agents.graph import GraphDeps, build_graph
    from agents.routing import no_models, only
    from tools.index.config import IndexOptions
    from tools.index.knowledge import KnowledgeIndex
    from tools.index.search import search

    questions = load_questions(ANSWERSET / "questions.jsonl")
    if args.quick:
        questions = questions[:QUICK_QUESTIONS]
    getter, model_info = llm_getter()
    info = common.print_header("answer quality", {"questions": len(questions), "model": model_info})
    runs: dict[str, list[dict[str, Any]]] = {}
    with common.temp_home() as home:
        docs = home / "docs"  # a copy, so the index never sees a repository path (hidden or excluded components)
        shutil.copytree(ANSWERSET / "docs", docs)
        embedder = common.onnx_embedder(home)
        index = KnowledgeIndex(home / "index", embedder, IndexOptions(), parse_workers=1)
        try:
            index.add_root(docs)
            build_s, report = common.timed(index.sync)
            for name, model in (("fallback", None), ("llm", getter)):
                if name == "llm" and model is None:
                    continue
                deps = GraphDeps(lambda q, k: search(index, q, k=k), only(model) if model else no_models,
                                 embed=embedder.embed)
                graph = build_graph(deps, open_checkpointer(home / f"threads-{name}.sqlite3"))
                runs[name] = ask_all(graph, questions)
        finally:
            index.close()

    files = len(list((ANSWERSET / "docs").iterdir()))
    print(f"Corpus: {files} documents ({report.chunks_embedded} chunks, indexed in {build_s:.1f} s), "
          f"{len(questions)} questions.\n")
    scores = {name: metrics(results) for name, results in runs.items()}
    rows = [[name, s["questions"], f"{s['accuracy']:.3f}", f"{s['citation_precision']:.3f}",
             f"{s['source_hit_at_1']:.3f}", s["citations"], s["uncited_answers"], s["modes"].get("llm", 0),
             _ms(s["draft_ms"]["p50"]), _ms(s["draft_ms"]["p95"]), _ms(s["latency_ms"]["p50"]),
             _ms(s["latency_ms"]["p95"])] for name, s in scores.items()]
    print(common.table(["run", "questions", "accuracy", "cite prec", "hit@1", "citations", "uncited", "llm answers",
                        "draft p50 ms", "draft p95 ms", "total p50 ms", "total p95 ms"], rows))
    if "llm" in scores:
        s = scores["llm"]
        split = ", ".join(f"{mode} {s['modes'][mode]} (accuracy {acc:.3f})"
                          for mode, acc in s["accuracy_by_mode"].items())
        print(f"\nllm run, final modes: {split}")
        print(f"  the model's own text held the answer for {s['model_text_accuracy']:.3f} of the questions "
              "(accepted or not)")
        for reason, count in sorted(s["fallback_reasons"].items(), key=lambda item: -item[1]):
            print(f"  fell back {count:>3}x: {reason}")
    else:
        print(f"\nllm run skipped: the default model is {model_info}")
    if args.misses:
        for name, results in runs.items():
            print(f"\nWrong answers, {name} run:")
            for r in (r for r in results if not r["correct"]):
                print(f"  {r['id']} [{r['mode']}] {r['question']} (source {r['source']}, want {r['want']})")
                print(f"    cited: {', '.join(r['cited_files']) or 'nothing'}")
                print("    answer: " + _normal(r["answer"])[:300])
                if r["model_text"] and r["mode"] != "llm":
                    print(f"    model said ({r['fallback_reason']}): " + _normal(r["model_text"])[:300])
    common.write_json(args.json, {
        "benchmark": "answer_quality", "machine": info, "quick": args.quick, "documents": files,
        "chunks": report.chunks_embedded, "index_seconds": build_s, "model": model_info, "scores": scores,
        "results": runs,
    })


if __name__ == "__main__":
    main()

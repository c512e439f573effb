"""Retrieval evaluation on BEIR-layout collections: index the corpus as files, run the queries, score them."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from tools.errors import EvalError
from tools.index.knowledge import KnowledgeIndex, ProgressFn
from tools.index.search import search
from tools.index.store import SearchMode

Run = dict[str, list[tuple[str, float]]]  # query id -> ranked (doc id, score)
Qrels = dict[str, dict[str, int]]


@dataclass(frozen=True, slots=True)
class Dataset:
    corpus: dict[str, tuple[str, str]]  # doc id -> (title, text)
    queries: dict[str, str]
    qrels: Qrels


@dataclass(slots=True)
class ModeScores:
    mode: str
    ndcg_at_10: float
    recall_at_10: float
    recall_at_100: float
    mrr_at_10: float
    queries: int
    run: Run = field(repr=False, default_factory=dict)

    def as_dict(self) -> dict[str, float | int | str]:
        return {"mode": self.mode, "ndcg@10": self.ndcg_at_10, "recall@10": self.recall_at_10,
                "recall@100": self.recall_at_100, "mrr@10": self.mrr_at_10, "queries": self.queries}


def _jsonl(path: Path) -> Iterable[dict[str, str]]:
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if line.strip():
                try:
                    yield json.loads(line)
                except json.JSONDecodeError as exc:
                    raise EvalError(f"{path}:{number}: not valid JSON ({exc.msg})") from exc


def load_dataset(folder: Path) -> Dataset:
    """Read corpus.jsonl, queries.jsonl and qrels/test.tsv; only judged queries are kept."""
    needed = [folder / "corpus.jsonl", folder / "queries.jsonl", folder / "qrels" / "test.tsv"]
    missing = [str(p) for p in needed if not p.is_file()]
    if missing:
        raise EvalError(f"not a BEIR-layout dataset, missing: {', '.join(missing)}")
    corpus = {str(d["_id"]): (d.get("title") or "", d.get("text") or "") for d in _jsonl(needed[0])}
    queries = {str(q["_id"]): q["text"] for q in _jsonl(needed[1])}
    qrels: Qrels = {}
    with needed[2].open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            parts = line.rstrip("\n").split("\t")
            if number == 1 and not parts[-1].lstrip("-").isdigit():
                continue  # header
            if len(parts) != 3:
                raise EvalError(f"{needed[2]}:{number}: expected query-id, corpus-id, score")
            qrels.setdefault(parts[0], {})[parts[1]] = int(parts[2])
    queries = {q: t for q, t in queries.items() if q in qrels}
    if not queries:
        raise EvalError("no query in queries.jsonl has a judgement in qrels/test.tsv")
    return Dataset(corpus, queries, qrels)


def _safe_name(doc_id: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in doc_id)


def write_corpus(dataset: Dataset, folder: Path) -> dict[str, str]:
    """One Markdown file per document (title as its heading); returns path -> doc id."""
    folder.mkdir(parents=True, exist_ok=True)
    mapping: dict[str, str] = {}
    for doc_id, (title, text) in dataset.corpus.items():
        path = folder / f"{_safe_name(doc_id)}.md"
        body = f"# {' '.join(title.split())}\n\n{text}\n" if title.strip() else f"{text}\n"
        path.write_text(body, encoding="utf-8")
        mapping[os.path.realpath(path)] = doc_id
    return mapping


def run_queries(index: KnowledgeIndex, dataset: Dataset, paths: dict[str, str], mode: SearchMode,
                depth: int = 100, progress: ProgressFn | None = None) -> Run:
    """Ranked documents per query: chunk hits folded to their document's best chunk."""
    run: Run = {}
    for n, (qid, text) in enumerate(dataset.queries.items(), 1):
        ranked: dict[str, float] = {}
        for hit in search(index, text, k=depth * 2, mode=mode):
            doc = paths.get(hit.path)
            if doc is not None and doc not in ranked:
                ranked[doc] = hit.score
        run[qid] = list(ranked.items())[:depth]
        if progress:
            progress(f"queries ({mode})", n, len(dataset.queries))
    return run


def score(run: Run, qrels: Qrels, mode: str) -> ModeScores:
    """nDCG@10 (linear gains, as trec_eval and BEIR), Recall@10, Recall@100 and MRR@10, averaged over queries."""
    ndcg = r10 = r100 = mrr = 0.0
    queries = [q for q in qrels if q in run]
    for qid in queries:
        judged = qrels[qid]
        relevant = {d for d, g in judged.items() if g > 0}
        docs = [d for d, _ in run[qid]]
        dcg = sum(judged.get(d, 0) / math.log2(i + 2) for i, d in enumerate(docs[:10]))
        ideal = sorted((g for g in judged.values() if g > 0), reverse=True)[:10]
        idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
        ndcg += dcg / idcg if idcg else 0.0
        if relevant:
            r10 += len(relevant.intersection(docs[:10])) / len(relevant)
            r100 += len(relevant.intersection(docs[:100])) / len(relevant)
        mrr += next((1.0 / (i + 1) for i, d in enumerate(docs[:10]) if d in relevant), 0.0)
    n = max(len(queries), 1)
    return ModeScores(mode, ndcg / n, r10 / n, r100 / n, mrr / n, len(queries), run)


def write_run_file(run: Run, path: Path, tag: str) -> None:
    """TREC run format: ``qid Q0 docid rank score tag``."""
    with path.open("w", encoding="utf-8") as handle:
        for qid, ranked in run.items():
            for rank, (doc, value) in enumerate(ranked, 1):
                handle.write(f"{qid} Q0 {doc} {rank} {value:.6f} {tag}\n")


def evaluate(index_factory: Callable[[Path], KnowledgeIndex], dataset_dir: Path, work_dir: Path,
             modes: Iterable[SearchMode], progress: ProgressFn | None = None) -> list[ModeScores]:
    """Index the dataset's corpus under ``work_dir`` and score each mode."""
    dataset = load_dataset(dataset_dir)
    paths = write_corpus(dataset, work_dir / "corpus")
    index = index_factory(work_dir / "index")
    try:
        index.add_root(work_dir / "corpus")
        report = index.sync(progress=progress)
        if report.failed:
            raise EvalError(f"{report.failed} corpus documents failed to index: {report.failures[:3]}")
        return [score(run_queries(index, dataset, paths, m, progress=progress), dataset.qrels, m) for m in modes]
    finally:
        index.close()

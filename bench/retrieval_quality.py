"""Retrieval quality on Cranfield: Deskmate's fts, vector and hybrid modes vs plain BM25 (bm25s), same scorer.

Deskmate indexes the corpus as Markdown files with the real ONNX embedder and answers the judged queries through
tools.eval.retrieval (chunk hits folded to documents, depth 100). The baseline is bm25s over title + " " + text per
document (English stopwords; a Snowball stemmer only where PyStemmer is installed), top 100, scored by the same
tools.eval.retrieval.score.
"""

from __future__ import annotations

import importlib.util
import logging
import os

import common


def bm25_run(dataset: object) -> tuple[object, str]:
    import bm25s

    logging.getLogger("bm25s").setLevel(logging.WARNING)

    stemmer, how = None, "no stemmer (PyStemmer is not installed)"
    if importlib.util.find_spec("Stemmer") is not None:
        import Stemmer

        stemmer, how = Stemmer.Stemmer("english"), "English Snowball stemmer (PyStemmer)"
    ids = list(dataset.corpus)
    docs = [f"{title} {text}" for title, text in dataset.corpus.values()]
    retriever = bm25s.BM25()
    retriever.index(bm25s.tokenize(docs, stopwords="en", stemmer=stemmer, show_progress=False), show_progress=False)
    qids = list(dataset.queries)
    tokens = bm25s.tokenize([dataset.queries[q] for q in qids], stopwords="en", stemmer=stemmer, show_progress=False)
    found, scores = retriever.retrieve(tokens, k=min(100, len(ids)), show_progress=False)
    run = {q: [(ids[int(d)], float(s)) for d, s in zip(found[n], scores[n], strict=True)] for n, q in enumerate(qids)}
    return run, how


def main() -> None:
    args = common.parser(__doc__.splitlines()[0]).parse_args()
    from tools.eval.retrieval import run_queries, score, write_corpus
    from tools.index.config import IndexOptions
    from tools.index.knowledge import KnowledgeIndex

    info = common.print_header("retrieval quality", {"bm25s": common.package_version("bm25s"),
                                                     "PyStemmer": common.package_version("PyStemmer")})
    dataset = common.cranfield(300 if args.quick else None)
    if args.quick:  # judgements limited to the smaller corpus; queries without a relevant document there dropped
        qrels = {q: {d: g for d, g in j.items() if d in dataset.corpus} for q, j in dataset.qrels.items()}
        qrels = {q: j for q, j in qrels.items() if any(g > 0 for g in j.values())}
        dataset = type(dataset)(dataset.corpus, {q: t for q, t in dataset.queries.items() if q in qrels}, qrels)
    scores = []
    with common.temp_home() as home:
        paths = write_corpus(dataset, home / "corpus")
        index = KnowledgeIndex(home / "index", common.onnx_embedder(home), IndexOptions(), parse_workers=1)
        try:
            index.add_root(home / "corpus")
            build_s, report = common.timed(index.sync)
            for mode in ("fts", "vector", "hybrid"):
                seconds, run = common.timed(lambda m=mode: run_queries(index, dataset, paths, m, depth=100))
                scores.append((score(run, dataset.qrels, mode), seconds))
        finally:
            index.close()
    seconds, (run, stemming) = common.timed(lambda: bm25_run(dataset))
    scores.append((score(run, dataset.qrels, "bm25s (baseline)"), seconds))

    print(f"Corpus: {len(dataset.corpus)} documents ({report.chunks_embedded} chunks, indexed in {build_s:.0f} s), "
          f"{len(dataset.queries)} judged queries; bm25s: stopwords en, {stemming}.\n")
    rows = [[s.mode, f"{s.ndcg_at_10:.4f}", f"{s.recall_at_10:.4f}", f"{s.recall_at_100:.4f}", f"{s.mrr_at_10:.4f}",
             s.queries, f"{sec:.1f}"] for s, sec in scores]
    hybrid, bm25 = scores[2][0], scores[3][0]
    rows.append(["ratio hybrid / bm25s", *(f"{getattr(hybrid, k) / getattr(bm25, k):.3f}" for k in
                                           ("ndcg_at_10", "recall_at_10", "recall_at_100", "mrr_at_10")), "", ""])
    print(common.table(["mode", "nDCG@10", "Recall@10", "Recall@100", "MRR@10", "queries", "seconds"], rows))
    print(f"\nLoad average at the end: {os.getloadavg()[0]:.2f}")
    common.write_json(args.json, {
        "benchmark": "retrieval_quality", "machine": info, "quick": args.quick, "documents": len(dataset.corpus),
        "bm25s_stemming": stemming, "scores": [s.as_dict() | {"seconds": sec} for s, sec in scores],
    })


if __name__ == "__main__":
    main()

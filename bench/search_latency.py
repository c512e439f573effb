"""Search latency at 10k and 100k chunks (query embedding included), vs query embedding alone and numpy flat top-10.

Building 100k real chunks on 2 cores would take hours, so the table is synthetic but realistic: ~2,000 real
Cranfield chunks are indexed once with the ONNX embedder, then cycled into N rows, each with its vector perturbed by
gaussian noise (sigma per component, then re-normalised) and a unique suffix in its text, written with
ChunkStore.replace_files in batches of 5,000 rows per fake path and optimised with ChunkStore.maintain, so the main
table measures the store's own policy (flat below 20k chunks, IVF_FLAT from there). Queries are the Cranfield
queries. With --vector-index always (or auto when hybrid p95 is above 50 ms) the largest table is also measured
flat and with other vector indexes.
"""

from __future__ import annotations

import hashlib
import os
import time

import common
import numpy as np

BATCH = 5_000
RECALL_QUERIES = 100


def seed_rows(home: object, embedder: object, docs: int | None) -> list[dict]:
    """Real chunks (all columns, vectors included) of the Cranfield corpus, indexed once."""
    from tools.eval.retrieval import write_corpus
    from tools.index.config import IndexOptions
    from tools.index.knowledge import KnowledgeIndex

    write_corpus(common.cranfield(docs), home / "seed_corpus")
    index = KnowledgeIndex(home / "seed", embedder, IndexOptions(), parse_workers=1)
    try:
        index.add_root(home / "seed_corpus")
        index.sync()
        return index.store.read(index.table_name(index.generation)).to_pylist()
    finally:
        index.close()


def grow(index: object, name: str, seed: list[dict], start: int, stop: int, sigma: float,
         rng: np.random.Generator) -> tuple[np.ndarray, list[str]]:
    """Write rows start..stop (5,000 per fake path); returns their vectors and chunk hashes."""
    base = np.stack([np.asarray(r["vector"], dtype=np.float32) for r in seed])
    vectors, hashes = [], []
    for first in range(start, stop, BATCH):
        n = np.arange(first, min(first + BATCH, stop))
        vecs = base[n % len(seed)] + rng.normal(0.0, sigma, (len(n), base.shape[1])).astype(np.float32)
        vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
        path = f"{seed[0]['root']}/synthetic/part_{first // BATCH:03d}.md"
        rows = []
        for i, vec in zip(n, vecs, strict=True):
            row = dict(seed[i % len(seed)])
            suffix = f" [s{i:06d}]"
            chunk_hash = hashlib.sha256(f"{row['chunk_hash']}{suffix}".encode()).hexdigest()
            row.update(id=f"{path}\x00{chunk_hash}\x000", path=path, text=row["text"] + suffix,
                       search_text=row["search_text"] + suffix, chunk_hash=chunk_hash, vector=vec)
            rows.append(row)
            hashes.append(chunk_hash)
        index.store.replace_files(name, [path], rows)
        vectors.append(vecs)
    index.store.maintain(name, force=True)
    return np.concatenate(vectors), hashes


def flat_top10(matrix: np.ndarray, query: np.ndarray) -> np.ndarray:
    scores = matrix @ query
    top = np.argpartition(-scores, 10)[:10]
    return top[np.argsort(-scores[top])]


def latencies(fn: object, items: list) -> dict[str, float]:
    for item in items[:5]:  # warm caches and lazily opened files
        fn(item)
    ms = []
    for item in items:
        started = time.perf_counter()
        fn(item)
        ms.append((time.perf_counter() - started) * 1000)
    return common.summary(ms)


def measure(index: object, embedder: object, queries: list[str], qvecs: np.ndarray,
            matrix: np.ndarray, modes: tuple[str, ...]) -> dict[str, dict[str, float]]:
    from tools.index.search import search

    out = {m: latencies(lambda q, m=m: search(index, q, k=10, mode=m), queries) for m in modes}
    out["baseline: query embedding only"] = latencies(lambda q: embedder.embed([q]), queries)
    out["baseline: numpy flat top-10"] = latencies(lambda v: flat_top10(matrix, v), list(qvecs))
    return out


def recall(table: object, qvecs: np.ndarray, matrix: np.ndarray, hashes: list[str]) -> float:
    """Recall@10 of the store's vector query (cosine, default search parameters) against exact numpy top-10."""
    found = 0
    for vec in qvecs[:RECALL_QUERIES]:
        rows = table.search(vec, query_type="vector").distance_type("cosine").select(["chunk_hash"]).limit(10)
        got = {r["chunk_hash"] for r in rows.to_list()}
        found += len(got & {hashes[i] for i in flat_top10(matrix, vec)})
    return found / (10 * min(len(qvecs), RECALL_QUERIES))


def try_vector_indexes(index: object, name: str, embedder: object, queries: list[str], qvecs: np.ndarray,
                       matrix: np.ndarray, hashes: list[str]) -> list[dict]:
    from lancedb.index import HnswSq, IvfFlat, IvfPq

    table = index.store._table(name)
    # The store builds IVF_FLAT by itself from 20k chunks: drop it so the first row really is a flat scan.
    for existing in table.list_indices():
        if existing.index_type != "FTS":
            table.drop_index(existing.name)
    flat = measure(index, embedder, queries, qvecs, matrix, ("hybrid", "vector"))
    results = [{"index": "none (flat)", "build_s": 0.0, "recall@10": recall(table, qvecs, matrix, hashes),
                "hybrid": flat["hybrid"], "vector": flat["vector"]}]
    for label, config in [("IVF_FLAT cosine (defaults)", IvfFlat(distance_type="cosine")),
                          ("IVF_PQ cosine (defaults)", IvfPq(distance_type="cosine")),
                          ("IVF_HNSW_SQ cosine (defaults)", HnswSq(distance_type="cosine"))]:
        build_s, _ = common.timed(lambda c=config: table.create_index("vector", config=c, replace=True))
        found = measure(index, embedder, queries, qvecs, matrix, ("hybrid", "vector"))
        results.append({"index": label, "build_s": build_s, "recall@10": recall(table, qvecs, matrix, hashes),
                        "hybrid": found["hybrid"], "vector": found["vector"]})
        for existing in table.list_indices():
            if existing.index_type != "FTS":
                table.drop_index(existing.name)
    return results


def main() -> None:
    parser = common.parser(__doc__.splitlines()[0])
    parser.add_argument("--sizes", help="comma-separated chunk counts (default 10000,100000; --quick 10000)")
    parser.add_argument("--queries", type=int, help="number of queries (default all 225; --quick 50)")
    parser.add_argument("--modes", default="hybrid,vector,fts", help="search modes to time")
    parser.add_argument("--sigma", type=float, default=0.05, help="gaussian noise per vector component")
    parser.add_argument("--vector-index", choices=("auto", "always", "never"), default="auto",
                        help="try vector indexes at the largest size: auto = only if hybrid p95 > 50 ms")
    args = parser.parse_args()
    sizes = [int(s) for s in (args.sizes or ("10000" if args.quick else "10000,100000")).split(",")]
    modes = tuple(args.modes.split(","))
    from tools.index.config import IndexOptions
    from tools.index.knowledge import KnowledgeIndex

    info = common.print_header("search latency", {"sizes": sizes, "modes": modes, "sigma": args.sigma})
    dataset = common.cranfield()
    queries = list(dataset.queries.values())[: args.queries or (50 if args.quick else None)]
    rng = np.random.default_rng(5)
    results: dict[int, dict] = {}
    trials: list[dict] = []
    with common.temp_home() as home:
        embedder = common.onnx_embedder(home)
        seed_s, seed = common.timed(lambda: seed_rows(home, embedder, 300 if args.quick else None))
        qvecs = embedder.embed(queries)
        index = KnowledgeIndex(home / "index", embedder, IndexOptions())
        name = index.table_name(index.generation)
        matrix, hashes = np.zeros((0, 384), dtype=np.float32), []
        try:
            for size in sizes:
                start = len(hashes)
                build_s, (vecs, new) = common.timed(lambda a=start, b=size: grow(index, name, seed, a, b, args.sigma,
                                                                                 rng))
                matrix, hashes = np.concatenate([matrix, vecs]), hashes + new
                print(f"{size} rows in the table ({index.store.count(name)} counted); grown in {build_s:.1f} s",
                      flush=True)
                results[size] = measure(index, embedder, queries, qvecs, matrix, modes)
            top = results[sizes[-1]]
            slow = "hybrid" in top and top["hybrid"]["p95"] > 50
            if args.vector_index == "always" or (slow and args.vector_index == "auto"):
                trials = try_vector_indexes(index, name, embedder, queries, qvecs, matrix, hashes)
        finally:
            index.close()

    base = np.stack([np.asarray(r["vector"], dtype=np.float32) for r in seed])
    drift = float(np.mean(np.sum(matrix * base[np.arange(len(matrix)) % len(base)], axis=1)))
    print(f"\nSeed: {len(seed)} real Cranfield chunks embedded in {seed_s:.1f} s; mean cosine of a synthetic vector "
          f"to its seed {drift:.3f}; {len(queries)} queries, k=10, query embedding included in every mode.\n")
    rows = []
    for size, found in results.items():
        for label, s in found.items():
            rows.append([f"{size:,}", label, f"{s['p50']:.1f}", f"{s['p95']:.1f}", f"{s['mean']:.1f}"])
    print(common.table(["chunks", "what", "p50 ms", "p95 ms", "mean ms"], rows))
    for size, found in results.items():
        if "hybrid" in found:
            ratio = found["hybrid"]["p95"] / found["baseline: numpy flat top-10"]["p95"]
            print(f"ratio hybrid_p95 / numpy_p95 at {size:,}: {ratio:.1f}")
    if trials:
        print(f"\nVector indexes at {sizes[-1]:,} chunks (store's search parameters: defaults; recall@10 vs exact "
              f"numpy top-10 over {min(len(queries), RECALL_QUERIES)} queries):\n")
        rows = [[t["index"], f"{t['build_s']:.1f}", f"{t['recall@10']:.3f}",
                 *(f"{t[m][k]:.1f}" for m in ("hybrid", "vector") for k in ("p50", "p95"))]
                for t in trials]
        print(common.table(["index", "build s", "recall@10", "hybrid p50", "hybrid p95", "vector p50", "vector p95"],
                           rows))
    print(f"\nLoad average at the end: {os.getloadavg()[0]:.2f}")
    common.write_json(args.json, {
        "benchmark": "search_latency", "machine": info, "quick": args.quick, "queries": len(queries),
        "seed_chunks": len(seed), "mean_cosine_to_seed": drift, "results_ms": results, "vector_index_trials": trials,
    })


if __name__ == "__main__":
    main()

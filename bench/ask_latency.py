"""`ask` latency at 10,000 chunks: the deterministic cited answer, a cache hit, and the model's first token.

The table is built like search_latency.py's (real Cranfield chunks embedded once with the ONNX embedder, cycled
into 10,000 rows with perturbed vectors). Each Cranfield query then goes through the real ask graph and Runner:

- fallback: no model, so the turn ends with the deterministic extractive answer (intent, hybrid search, sentence
  scoring with embeddings, citations, the SQLite checkpoint written with durability="sync"); the goal is p95 < 300 ms;
- cache hit: a scripted fake model answers each query once (so the answer is cached), then the same query is asked
  again and served from the semantic cache, its cited chunks checked against the index; the goal is < 20 ms;
- model: with the embedded default model (`--model-queries`, default 10), the time to the deterministic draft and to
  the model's first token, on the same turns (the goal for the first token is 2 s on 2 CPU cores).

The baseline in the same run is the hybrid search alone (query embedding included), the floor of every turn.
"""

from __future__ import annotations

import time

import common
import numpy as np
from search_latency import grow, seed_rows

SIZE = 10_000


def turn_ms(runner: object, question: str) -> tuple[float, float | None, float | None, str]:
    """(total, draft, first model token) in ms, and the final mode."""
    from agents.runner import DraftAnswer, TokenDelta, TurnDone

    started = time.perf_counter()
    draft = first = None
    mode = ""
    for event in runner.ask(question):
        now = (time.perf_counter() - started) * 1000
        if isinstance(event, DraftAnswer) and draft is None:
            draft = now
        elif isinstance(event, TokenDelta) and first is None:
            first = now
        elif isinstance(event, TurnDone):
            mode = event.mode
    return (time.perf_counter() - started) * 1000, draft, first, mode


def main() -> None:
    p = common.parser(__doc__.splitlines()[0])
    p.add_argument("--queries", type=int, help="Cranfield queries to ask (default 100; --quick 30)")
    p.add_argument("--model-queries", type=int, default=10, help="queries asked with the default model (0: skip)")
    args = p.parse_args()
    from agents.cache import SemanticCache
    from agents.conversations.checkpoints import open_checkpointer
    from agents.graph import GraphDeps, build_graph
    from agents.providers import default_model
    from agents.providers.fake import FakeChatModel
    from agents.providers.limits import Limits
    from agents.providers.registry import ModelRegistry
    from agents.providers.spec import ModelSpec
    from agents.routing import only
    from agents.runner import Runner
    from tools.index.config import IndexOptions
    from tools.index.knowledge import KnowledgeIndex
    from tools.index.search import search

    info = common.print_header("ask latency", {"chunks": SIZE})
    dataset = common.cranfield()
    queries = list(dataset.queries.values())[: args.queries or (30 if args.quick else 100)]
    with common.temp_home() as home:
        embedder = common.onnx_embedder(home)
        seed = seed_rows(home, embedder, 300 if args.quick else None)
        index = KnowledgeIndex(home / "index", embedder, IndexOptions())
        name = index.table_name(index.generation)
        grow(index, name, seed, 0, SIZE, 0.05, np.random.default_rng(5))

        def retrieve(q: str, k: int) -> list:
            return search(index, q, k=k)

        checkpoints = open_checkpointer(home / "threads.sqlite3")
        baseline = common.summary([common.timed(lambda q=q: retrieve(q, 8))[0] * 1000 for q in queries])

        fallback = Runner(build_graph(GraphDeps(retrieve, embed=embedder.embed), checkpoints))
        for q in queries[:5]:
            turn_ms(fallback, q)
        fb = [turn_ms(fallback, q)[0] for q in queries]

        registry = ModelRegistry([ModelSpec(name="fake/m", kind="fake")], Limits(retries=0))
        fake = registry.chat_model("fake/m").inner
        assert isinstance(fake, FakeChatModel)
        cache = SemanticCache(home / "cache.sqlite3", embedder.embed)
        cached_deps = GraphDeps(retrieve, only(lambda: registry.chat_model("fake/m")), embed=embedder.embed,
                                cache=cache, sources_exist=index.has_chunks)
        cached = Runner(build_graph(cached_deps, checkpoints))
        hits = []
        for q in queries:
            top = retrieve(q, 1)
            # An answer the grounding check accepts: the first sentence of the top chunk, cited.
            fake.enqueue(top[0].text.split(".")[0].strip() + " [1].")
            first_mode = turn_ms(cached, q)[3]
            total, _, _, mode = turn_ms(cached, q)
            if first_mode == "llm" and mode == "cache":
                hits.append(total)
        rows = [["hybrid search only (baseline)", f"{baseline['p50']:.1f}", f"{baseline['p95']:.1f}", len(queries)],
                ["fallback answer (whole turn)", f"{np.percentile(fb, 50):.1f}", f"{np.percentile(fb, 95):.1f}",
                 len(fb)]]
        if hits:
            rows.append(["cache hit (whole turn)", f"{np.percentile(hits, 50):.1f}", f"{np.percentile(hits, 95):.1f}",
                         len(hits)])
        model_rows = []
        if args.model_queries:
            path = default_model.install(common.REPO / ".cache" / "models", "int8").path
            real = ModelRegistry([default_model.spec(path.parent, "int8")], Limits(device="cpu"))
            llm_deps = GraphDeps(retrieve, only(lambda: real.chat_model(default_model.DEFAULT_NAME)),
                                 embed=embedder.embed)
            llm = Runner(build_graph(llm_deps, checkpoints))
            turn_ms(llm, queries[0])  # load and warm the model
            for q in queries[: args.model_queries]:
                total, draft, first, mode = turn_ms(llm, q)
                model_rows.append((draft or 0.0, first, total, mode))
        index.close()
        checkpoints.conn.close()
        cache.close()

    print(common.table(["what", "p50 ms", "p95 ms", "turns"], rows))
    print(f"\ncache hits: {len(hits)} of {len(queries)} repeated questions")
    if model_rows:
        drafts = [r[0] for r in model_rows]
        firsts = [r[1] for r in model_rows if r[1] is not None]
        print(f"\nwith the default model ({len(model_rows)} turns): draft p50 {np.percentile(drafts, 50):.0f} ms, "
              f"p95 {np.percentile(drafts, 95):.0f} ms; first model token p50 "
              f"{np.percentile(firsts, 50):.0f} ms, p95 {np.percentile(firsts, 95):.0f} ms; "
              f"final modes: {', '.join(sorted(set(r[3] for r in model_rows)))}")
    common.write_json(args.json, {"machine": info, "rows": rows, "model": model_rows})


if __name__ == "__main__":
    main()

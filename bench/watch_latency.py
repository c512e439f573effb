"""Save-to-searchable latency with the file watcher, vs a direct index.sync(paths=[file]) for the same kind of edit.

A folder of Cranfield documents as Markdown files is indexed with the real ONNX embedder. Each edit appends a
sentence with a made-up word to one file; the latency runs from just before the write until a full-text search for
that word returns the file as its top hit (polled every 20 ms). The baseline makes the same kind of edit with no
watcher and calls sync(paths=[file]) itself, then searches once.
"""

from __future__ import annotations

import os
import random
import time
from pathlib import Path

import common

POLL_S = 0.02
TIMEOUT_S = 60.0


def edit(path: Path, word: str) -> None:
    """What an editor's save does: rewrite the whole file, here with one new sentence at the end."""
    text = path.read_text(encoding="utf-8")
    path.write_text(f"{text}\nThe {word} probe was recorded during this measurement.\n", encoding="utf-8")


def top_hit_is(index: object, word: str, path: Path) -> bool:
    from tools.index.search import search

    hits = search(index, word, k=1, mode="fts")
    return bool(hits) and os.path.realpath(hits[0].path) == os.path.realpath(path)


def wait_until_found(index: object, word: str, path: Path, started: float) -> float:
    while not top_hit_is(index, word, path):
        if time.perf_counter() - started > TIMEOUT_S:
            raise SystemExit(f"{word} was not searchable in {path} after {TIMEOUT_S:.0f} s")
        time.sleep(POLL_S)
    return time.perf_counter() - started


def main() -> None:
    parser = common.parser(__doc__.splitlines()[0])
    parser.add_argument("--edits", type=int, default=10, help="edits per method")
    parser.add_argument("--debounce", type=float, default=0.4, help="the watcher's debounce in seconds")
    args = parser.parse_args()
    docs = 100 if args.quick else 500
    from tools.eval.retrieval import write_corpus
    from tools.index.config import IndexOptions
    from tools.index.knowledge import KnowledgeIndex
    from tools.index.watcher import IndexWatcher

    info = common.print_header("watch latency", {"files": docs, "edits": args.edits, "debounce_s": args.debounce})
    rng = random.Random(11)
    with common.temp_home() as home:
        write_corpus(common.cranfield(docs), home / "corpus")
        files = sorted((home / "corpus").glob("*.md"))
        targets = rng.sample(files, 2 * args.edits)
        index = KnowledgeIndex(home / "index", common.onnx_embedder(home), IndexOptions(), parse_workers=1)
        try:
            index.add_root(home / "corpus")
            build_s, report = common.timed(index.sync)
            print(f"Initial index: {report.added} files, {report.chunks_embedded} chunks in {build_s:.1f} s.\n")

            direct, sync_only = [], []
            for n, path in enumerate(targets[: args.edits]):  # baseline first, no watcher running
                word = f"zqxv{n:02d}{rng.randrange(10**6):06d}"
                started = time.perf_counter()
                edit(path, word)
                sync_only.append(common.timed(lambda p=path: index.sync(paths=[str(p)]))[0])
                direct.append(wait_until_found(index, word, path, started))

            syncs: list[str] = []
            watcher = IndexWatcher(index, debounce=args.debounce, on_sync=syncs.append)
            watcher.start()
            watched = []
            try:
                time.sleep(1.0)  # let the observer settle
                for n, path in enumerate(targets[args.edits:]):
                    word = f"zqxw{n:02d}{rng.randrange(10**6):06d}"
                    before = watcher.syncs
                    started = time.perf_counter()
                    edit(path, word)
                    watched.append(wait_until_found(index, word, path, started))
                    while watcher.syncs == before:  # let the sync finish (optimise included) before the next edit
                        time.sleep(POLL_S)
                    time.sleep(0.2)
            finally:
                watcher.stop()
            errors = watcher.last_error
        finally:
            index.close()

    w, d, s = common.summary(watched), common.summary(direct), common.summary(sync_only)
    keys = ("min", "p50", "p95", "max")
    rows = [["watcher: save -> top FTS hit", *(f"{w[k] * 1000:.0f}" for k in keys)],
            ["baseline: save + sync(paths=[file]) -> top hit", *(f"{d[k] * 1000:.0f}" for k in keys)],
            ["  of which the sync(paths=[file]) call", *(f"{s[k] * 1000:.0f}" for k in keys)]]
    print(common.table(["what", "min ms", "median ms", "p95 ms", "max ms"], rows))
    print(f"\nratio watcher/direct: median {w['p50'] / d['p50']:.1f}, p95 {w['p95'] / d['p95']:.1f}; the watcher waits "
          f"{args.debounce:.1f} s of quiet by design. Watcher syncs: {len(syncs)}, last error: {errors}.")
    print(f"Load average at the end: {os.getloadavg()[0]:.2f}")
    common.write_json(args.json, {
        "benchmark": "watch_latency", "machine": info, "quick": args.quick, "files": docs,
        "watcher_seconds": w, "direct_seconds": d, "direct_sync_call_seconds": s,
        "ratio_median": w["p50"] / d["p50"], "ratio_p95": w["p95"] / d["p95"], "watcher_messages": syncs,
    })


if __name__ == "__main__":
    main()

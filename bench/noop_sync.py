"""No-op sync: how long KnowledgeIndex.sync() takes when nothing changed, vs a bare os.walk + os.stat of the tree.

The initial build uses the in-repo FakeEmbedder (tests/fakes.py): no embedding happens in the measured sync, so the
model does not matter there. Also reports the peak RSS of the initial build; with --real-embedder, a subprocess
indexes the same number of files with the real ONNX embedder and its peak RSS is reported too (slower).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import common


def walk_and_stat(root: Path) -> int:
    """The floor any sync pays: list every folder and stat every file."""
    count = 0
    for folder, _dirs, files in os.walk(root):
        for name in files:
            os.stat(os.path.join(folder, name))
            count += 1
    return count


def build(home: Path, files: int, embedder: object) -> tuple[object, object, float, common.RssSampler]:
    from tools.index.config import IndexOptions
    from tools.index.knowledge import KnowledgeIndex

    common.write_small_files(home / "files", files)
    index = KnowledgeIndex(home / "index", embedder, IndexOptions(), parse_workers=1)
    index.add_root(home / "files")
    with common.RssSampler() as rss:
        seconds, report = common.timed(index.sync)
    return index, report, seconds, rss


def child_real(files: int) -> None:
    """Runs in the subprocess: index ``files`` files with the real embedder, print one JSON line."""
    with common.temp_home() as home:
        embedder = common.onnx_embedder(home)
        index, report, seconds, rss = build(home, files, embedder)
        index.close()
    with open("/proc/self/status", encoding="utf-8") as handle:
        hwm = next((int(line.split()[1]) / 1024 for line in handle if line.startswith("VmHWM")), 0.0)
    print(json.dumps({"seconds": seconds, "chunks": report.chunks_embedded, "files": report.added,
                      "vm_hwm_mib": hwm, "sampled_self_mib": rss.peak_self, "sampled_parser_mib": rss.peak_children,
                      "sampled_total_mib": rss.peak_total}))


def real_embedder_run(files: int) -> dict[str, float]:
    print(f"Indexing {files} files with the real OnnxEmbedder in a subprocess ...", flush=True)
    proc = subprocess.run([sys.executable, __file__, "--child-real", "--files", str(files)],
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"the real-embedder subprocess failed:\n{proc.stderr[-3000:]}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    result["rusage_children_mib"] = common.peak_rss_mib(children=True)
    return result


def main() -> None:
    parser = common.parser(__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, help="number of files (default 10,000; --quick 2,000)")
    parser.add_argument("--runs", type=int, default=5, help="timed no-op syncs (and walks)")
    parser.add_argument("--real-embedder", action="store_true", help="also index with the real embedder (slow)")
    parser.add_argument("--child-real", action="store_true", help=argparse.SUPPRESS)  # the subprocess's own mode
    args = parser.parse_args()
    files = args.files or (2_000 if args.quick else 10_000)
    if args.child_real:
        child_real(files)
        return

    info = common.print_header("no-op sync", {"files": files, "folders": 100})
    # The subprocess goes first: a child's ru_maxrss starts at its parent's RSS when forked.
    real = real_embedder_run(files) if args.real_embedder else None
    with common.temp_home() as home:
        index, report, build_s, rss = build(home, files, common.fake_embedder(384))
        rss_self = common.peak_rss_mib()
        syncs, walks = [], []
        try:
            for _ in range(args.runs):  # interleaved, so background load hits both alike
                seconds, noop = common.timed(index.sync)
                if noop.unchanged != files or noop.chunks_embedded or noop.chunks_written:
                    print(f"warning: the no-op sync did work: {noop.as_dict()}")
                syncs.append(seconds)
                walk_s, seen = common.timed(lambda: walk_and_stat(home / "files"))
                walks.append(walk_s)
        finally:
            index.close()
    s, w = common.summary(syncs), common.summary(walks)

    print(f"Initial build: {report.added} files, {report.chunks_written} chunks in {build_s:.1f} s "
          "(FakeEmbedder: no model; the build's speed is not the point here).")
    print(f"Peak RSS of the initial build: {rss_self:.0f} MiB this process (getrusage); sampled: {rss.peak_self:.0f} "
          f"MiB this process + {rss.peak_children:.0f} MiB parser process = {rss.peak_total:.0f} MiB at most.")
    print(f"No-op sync: nothing changed, so no parsing and no embedding happen in the timed runs ({args.runs} runs, "
          f"{seen} files walked).\n")
    rows = [["KnowledgeIndex.sync(), nothing changed", *(f"{s[k] * 1000:.0f}" for k in ("min", "p50", "max")),
             f"{s['p50'] / w['p50']:.1f}"],
            ["baseline: os.walk + os.stat", *(f"{w[k] * 1000:.0f}" for k in ("min", "p50", "max")), "1.0"]]
    print(common.table(["what", "min ms", "median ms", "max ms", "ratio (median)"], rows))
    if real:
        print(f"\nReal OnnxEmbedder, {real['files']} files, {real['chunks']} chunks in {real['seconds']:.0f} s: peak "
              f"RSS {real['vm_hwm_mib']:.0f} MiB (subprocess VmHWM, model preparation included), sampled during sync "
              f"{real['sampled_self_mib']:.0f} MiB + parser {real['sampled_parser_mib']:.0f} MiB = "
              f"{real['sampled_total_mib']:.0f} MiB; getrusage(RUSAGE_CHILDREN) {real['rusage_children_mib']:.0f} "
              "MiB (largest descendant).")
    print(f"\nLoad average at the end: {os.getloadavg()[0]:.2f}")
    common.write_json(args.json, {
        "benchmark": "noop_sync", "machine": info, "quick": args.quick, "files": files, "build_seconds": build_s,
        "build_peak_rss_mib": rss_self, "build_sampled_rss_mib": {"self": rss.peak_self,
                                                                  "parser": rss.peak_children,
                                                                  "total": rss.peak_total},
        "noop_sync_seconds": s, "walk_stat_seconds": w, "ratio_median": s["p50"] / w["p50"],
        "real_embedder": real,
    })


if __name__ == "__main__":
    main()

"""Shared helpers for the benchmarks: machine description, timing, percentiles, tables, corpora and temp homes."""

from __future__ import annotations

import argparse
import contextlib
import importlib.metadata
import json
import os
import platform
import random
import resource
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
CRANFIELD = Path(os.environ.get("DESKMATE_CRANFIELD", REPO.parent / "shared" / "eval" / "cranfield"))
WARMUP_TEXTS = ["warm up the model", "a second, slightly longer sentence to warm up the kernels " * 4] * 4

_WORDS = (
    "project meeting budget report draft review invoice client design server backup release note summary "
    "schedule travel expense contract policy update migration database index search query latency memory "
    "cache thread worker folder archive kernel network proxy config deploy rollback ticket sprint roadmap"
).split()


# -- command line and output ---------------------------------------------------------------------------


def parser(description: str) -> argparse.ArgumentParser:
    """An argument parser with the flags every benchmark has: --quick and --json OUT."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--quick", action="store_true", help="small sizes, finishes in under 2 minutes (smoke check)")
    p.add_argument("--json", metavar="OUT", type=Path, help="also write the numbers as JSON to OUT")
    return p


def package_version(*names: str) -> str:
    for name in names:
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            return f"{importlib.metadata.version(name)} ({name})"
    return "not installed"


def machine() -> dict[str, Any]:
    """What the numbers were measured on."""
    cpu = platform.processor() or "unknown"
    with contextlib.suppress(OSError), open("/proc/cpuinfo", encoding="utf-8") as handle:
        cpu = next((line.split(":", 1)[1].strip() for line in handle if line.startswith("model name")), cpu)
    ram = 0.0
    with contextlib.suppress(OSError, StopIteration), open("/proc/meminfo", encoding="utf-8") as handle:
        ram = int(next(line for line in handle if line.startswith("MemTotal")).split()[1]) / 1024 ** 2
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "ram_gib": round(ram, 1),
        "os": platform.platform(),
        "python": platform.python_version(),
        "onnxruntime": package_version("onnxruntime-gpu", "onnxruntime"),
        "lancedb": package_version("lancedb"),
        "load_avg_1m": round(os.getloadavg()[0], 2),
    }


def print_header(title: str, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    info = machine() | (extra or {})
    print(f"== {title} ==")
    for key, value in info.items():
        print(f"  {key:<22} {value}")
    print()
    return info


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A plain-text table; floats are printed as given by the caller (format them first)."""
    cells = [[str(h) for h in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    numeric = [all(_number(r[i]) for r in cells[1:]) for i in range(len(headers))]
    lines = ["  ".join(c.rjust(w) if num else c.ljust(w) for c, w, num in zip(r, widths, numeric, strict=True))
             for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _number(text: str) -> bool:
    if not text:
        return True
    try:
        float(text.replace(",", ""))
    except ValueError:
        return False
    return True


def write_json(path: Path | None, payload: dict[str, Any]) -> None:
    if path is not None:
        path.write_text(json.dumps(payload, indent=2, default=str) + "\n", encoding="utf-8")
        print(f"\nJSON written to {path}")


# -- timing and statistics -----------------------------------------------------------------------------


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    """Seconds taken by ``fn()`` and its result."""
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def cpu_timed(fn: Callable[[], Any]) -> tuple[float, float, Any]:
    """Wall seconds, CPU seconds (this process and its finished children, user + system) and the result of ``fn()``.

    On a busy machine wall time grows with the other load while CPU time mostly does not: compare the two.
    """
    before = os.times()
    wall, result = timed(fn)
    after = os.times()
    cpu = sum(after[:4]) - sum(before[:4])
    return wall, cpu, result


def percentile(values: Sequence[float], p: float) -> float:
    """The ``p``-th percentile (0-100) with linear interpolation, as numpy's default."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    pos = (len(ordered) - 1) * p / 100
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def summary(values: Sequence[float]) -> dict[str, float]:
    return {"n": len(values), "min": min(values), "p50": percentile(values, 50), "p95": percentile(values, 95),
            "max": max(values), "mean": sum(values) / len(values)}


def peak_rss_mib(children: bool = False) -> float:
    """Peak resident set size of this process (or of its largest waited-for descendant), in MiB.

    Linux caveat: a child's ru_maxrss starts at its parent's RSS when it was forked (exec keeps the high-water
    mark), so RUSAGE_CHILDREN over-reports small children of a big parent; RssSampler measures them directly.
    """
    usage = resource.getrusage(resource.RUSAGE_CHILDREN if children else resource.RUSAGE_SELF)
    return usage.ru_maxrss / (1024 * 1024 if sys.platform == "darwin" else 1024)


class RssSampler:
    """Samples the RSS of this process and of its descendants every ``interval`` s; keeps the peaks in MiB."""

    def __init__(self, interval: float = 0.1) -> None:
        self.interval = interval
        self.peak_self = self.peak_children = self.peak_total = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        import psutil

        me = psutil.Process()
        while True:
            own = me.memory_info().rss / 2**20
            kids = 0.0
            for child in me.children(recursive=True):
                with contextlib.suppress(psutil.Error):
                    kids += child.memory_info().rss / 2**20
            self.peak_self = max(self.peak_self, own)
            self.peak_children = max(self.peak_children, kids)
            self.peak_total = max(self.peak_total, own + kids)
            if self._stop.wait(self.interval):
                return


# -- homes, embedders and corpora ----------------------------------------------------------------------


@contextlib.contextmanager
def temp_home() -> Iterator[Path]:
    """A throwaway Deskmate home (models, index, corpus), removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="deskmate-bench-", ignore_cleanup_errors=True) as folder:
        yield Path(folder)


def onnx_embedder(home: Path, threads: int = 2) -> Any:
    """The real embedder on CPU, model prepared and warmed up so that no timing pays for either."""
    from tools.index.embedder import OnnxEmbedder

    embedder = OnnxEmbedder(home / "models", device="cpu", threads=threads)
    embedder.embed(WARMUP_TEXTS)
    return embedder


def fake_embedder(dims: int = 384) -> Any:
    """The in-repo test double (tests/fakes.py), for builds whose embedding is not what is measured."""
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    from tests.fakes import FakeEmbedder

    return FakeEmbedder(dims=dims)


def cranfield(limit: int | None = None, folder: Path = CRANFIELD) -> Any:
    """The Cranfield dataset, its corpus cut to the first ``limit`` documents if given."""
    from tools.eval.retrieval import Dataset, load_dataset

    data = load_dataset(folder)
    if limit is None:
        return data
    return Dataset(dict(list(data.corpus.items())[:limit]), data.queries, data.qrels)


def write_small_files(root: Path, count: int, folders: int = 100, seed: int = 7) -> list[Path]:
    """``count`` text files of a few hundred bytes, spread over ``folders`` folders."""
    rng = random.Random(seed)
    paths = []
    for n in range(count):
        folder = root / f"folder_{n % folders:03d}"
        folder.mkdir(parents=True, exist_ok=True)
        words = [rng.choice(_WORDS) for _ in range(rng.randint(30, 60))]
        body = f"Note {n}\n\n" + " ".join(words).capitalize() + ".\n"
        path = folder / f"note_{n:05d}.txt"
        path.write_text(body, encoding="utf-8")
        paths.append(path)
    return paths

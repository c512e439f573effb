"""Model download: Deskmate's verified, resumable download against huggingface_hub's own download, same files.

Both fetch the default model's ONNX folder (about 259 MB) from a local fake hub (tests/support/fake_hub.py) over
loopback, so the figures are the cost of each side's own work, not of a network: huggingface_hub's
``hf_hub_download`` into a local folder (the baseline: what the hub client does with no extra checks), then
Deskmate's ``download`` (the same HTTP through huggingface_hub, plus the SHA-256 of every file against the listing,
the manifest, and by default the load-and-answer check). Runs are interleaved, median of --rounds. Also: a resume
after a cut at half of the largest file (the byte the next request starts from).
"""

from __future__ import annotations

import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import common

sys.path.insert(0, str(common.REPO))

from tests.support.fake_hub import FakeHub  # noqa: E402


def entry_for(hub: FakeHub, size: int) -> object:
    from agents.providers.manager.catalog import CatalogEntry

    return CatalogEntry(name="bench-smollm2", title="SmolLM2 135M", publisher="bench", repo=hub.repo,
                        revision=hub.commit, verified=True, params_b=0.135, ram_gb=1.0, context_length=8192,
                        licence="Apache-2.0", good_at="bench", card_url="https://example.invalid/card",
                        variants=[{"device": "cpu", "precision": "int8", "subfolder": "cpu-int8", "size_bytes": size}])


def baseline(hub: FakeHub, files: list[str], where: Path) -> float:
    from huggingface_hub import hf_hub_download

    started = time.perf_counter()
    for name in files:
        hf_hub_download(hub.repo, f"cpu-int8/{name}", revision=hub.commit, local_dir=where, endpoint=hub.url,
                        token=False)
    return time.perf_counter() - started


def ours(hub: FakeHub, entry: object, home: Path, check: bool) -> float:
    from agents.providers.manager import download as dl

    kwargs = {} if check else {"check": lambda _path, _name, _device: "skipped"}
    started = time.perf_counter()
    dl.download(entry, "cpu", home / "models", home / "models.toml", endpoint=hub.url, **kwargs)  # type: ignore[arg-type]
    return time.perf_counter() - started


def main() -> None:
    p = common.parser(__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=3)
    args = p.parse_args()
    if args.quick:
        args.rounds = 1
    from agents.providers import default_model

    folder = default_model.install(common.REPO / ".cache" / "models", "int8").path
    files = sorted(f.name for f in folder.iterdir() if f.is_file() and f.name != "manifest.json")
    size = sum((folder / f).stat().st_size for f in files)
    info = common.print_header("model download: Deskmate vs huggingface_hub", {
        "files": f"{len(files)} files, {size / 1e6:.0f} MB (the default model's ONNX folder)",
        "hub": "local fake hub over loopback", "rounds": args.rounds,
        "huggingface_hub": common.package_version("huggingface_hub"),
    })
    times: dict[str, list[float]] = {"huggingface_hub hf_hub_download": [], "Deskmate, checksums": [],
                                     "Deskmate, checksums + answer check": []}
    with FakeHub() as hub:
        hub.add_folder(folder, "cpu-int8")
        entry = entry_for(hub, size)
        for _ in range(args.rounds):
            for label in times:
                work = Path(tempfile.mkdtemp(prefix="dm-dl-"))
                try:
                    if label.startswith("huggingface_hub"):
                        times[label].append(baseline(hub, files, work))
                    else:
                        times[label].append(ours(hub, entry, work, check="answer" in label))
                finally:
                    shutil.rmtree(work, ignore_errors=True)
        largest = max(files, key=lambda f: (folder / f).stat().st_size)
        largest_size = (folder / largest).stat().st_size
        hub.drop_after[f"cpu-int8/{largest}"] = largest_size // 2
        work = Path(tempfile.mkdtemp(prefix="dm-dl-"))
        try:
            from agents.providers.manager import download as dl

            before = len(hub.requests)
            try:
                ours(hub, entry, work, check=False)
                resumed = "resumed within the same run (huggingface_hub's retry)"
            except dl.DownloadError:
                ours(hub, entry, work, check=False)
                resumed = "resumed by a second run"
            starts = hub.range_starts(f"cpu-int8/{largest}")
            start = max(starts) if starts else 0
            cut = largest_size // 2
            resume_line = (f"{resumed}: after a cut at {cut / 1e6:.1f} MB of {largest}, the next request asked "
                           f"from byte {start} ({(cut - start) / 1e6:.1f} MB fetched again: the unwritten tail of "
                           f"the last chunk); {len(hub.requests) - before} requests")
        finally:
            shutil.rmtree(work, ignore_errors=True)
    base = statistics.median(times["huggingface_hub hf_hub_download"])
    rows = []
    for label, values in times.items():
        median = statistics.median(values)
        rows.append([label, f"{median:.2f}", f"{size / 1e6 / median:.0f}", f"{median / base:.2f}x"])
    print(common.table(["download", "seconds", "MB/s", "time vs huggingface_hub"], rows))
    print(resume_line)
    common.write_json(args.json, {"machine": info, "seconds": times, "resume": resume_line})


if __name__ == "__main__":
    main()

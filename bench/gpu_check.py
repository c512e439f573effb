"""GPU check: the embedder and the default model on CUDA vs the CPU in the same run, CUDA proven by the runtime.

One script for a machine with an NVIDIA card (it runs anywhere: without a card it says so and prints the CPU numbers).
It prints the card (nvidia-smi), whether the CUDA libraries loaded (agents/providers/manager/gpu.py), ONNX Runtime's
providers; then embeds the same --chunks texts with the real OnnxEmbedder on CUDA and on the CPU (chunks/s, cosine
agreement of the vectors), and runs the default model (or --model FOLDER) through GenAIModel, the code path of
`deskmate generate`, on CUDA and on the CPU (first token, decode tokens/s, median of --rounds, interleaved).

CUDA counts as having run only on the runtime's own report: the embedder's session lists CUDAExecutionProvider first
and ONNX Runtime's graph assignment puts nodes on it; the GenAI model loaded on "cuda" through the adapter's one-token
probe and the runtime's model reports a non-CPU device_type. The exit status is 1 when CUDA was asked for (a card is
listed, or --require-cuda) and a component did not run on it.
"""

from __future__ import annotations

import dataclasses
import os
import random
import statistics
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import common
import llm_bench

if str(common.REPO) not in sys.path:
    sys.path.insert(0, str(common.REPO))


def texts(count: int, seed: int = 11) -> list[str]:
    """``count`` chunk-like texts of 50-200 words (fixed seed: the same texts on every device and every run)."""
    rng = random.Random(seed)
    return [" ".join(rng.choice(common._WORDS) for _ in range(rng.randint(50, 200))).capitalize() + "."
            for _ in range(count)]


def process_vram_mib() -> str:
    """The GPU memory of this process as nvidia-smi sees it (often invisible in containers: PID namespaces)."""
    try:
        done = subprocess.run(["nvidia-smi", "--query-compute-apps=pid,used_memory", "--format=csv,noheader,nounits"],
                              capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return "nvidia-smi not available"
    for line in done.stdout.splitlines():
        pid, _, used = line.partition(",")
        if pid.strip() == str(os.getpid()):
            return f"{used.strip()} MiB"
    return "this process not listed (a container hides PIDs, or nothing on the GPU)"


# -- embedder ----------------------------------------------------------------------------------------------------------


def node_placement(model_path: Path, providers: list[str]) -> dict[str, int]:
    """How many graph nodes ONNX Runtime assigned to each provider, as the session records it."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.add_session_config_entry("session.record_ep_graph_assignment_info", "1")
    options.log_severity_level = 3
    session = ort.InferenceSession(str(model_path), options, providers=providers)
    counts: Counter[str] = Counter()
    for subgraph in session.get_provider_graph_assignment_info():
        counts[subgraph.ep_name] += len(subgraph.get_nodes())
    return dict(counts)


def embed_on(device: str, home: Path, chunks: list[str], threads: int) -> dict[str, Any]:
    from tools.errors import EmbedderError
    from tools.index.embedder import OnnxEmbedder, prepare_model

    embedder = OnnxEmbedder(home / "models", device=device, threads=threads)  # type: ignore[arg-type]
    try:
        provider = embedder.execution_provider  # loads: CUDA is probed with a real inference
    except EmbedderError as exc:
        return {"device": device, "ran_on": None, "error": str(exc)}
    embedder.embed(common.WARMUP_TEXTS)
    seconds, vectors = common.timed(lambda: embedder.embed(chunks))
    placement = node_placement(prepare_model(home / "models"),
                               ["CUDAExecutionProvider", "CPUExecutionProvider"] if device == "cuda"
                               else ["CPUExecutionProvider"])
    session: Any = embedder._session  # the session the embedder really runs (created by execution_provider)
    return {"device": device, "ran_on": provider, "session_providers": session.get_providers(),
            "nodes_by_provider": placement, "batch": embedder._max_batch, "seconds": seconds,
            "chunks_per_s": len(chunks) / seconds, "vectors": vectors, "fallback_reason": embedder.fallback_reason,
            "vram": process_vram_mib() if device == "cuda" else "-"}


# -- default model -------------------------------------------------------------------------------------------------


def model_folder(given: Path | None) -> tuple[Path | None, str]:
    from agents.providers import default_model

    if given is not None:
        return given, str(given)
    folder = default_model.folder(common.REPO / ".cache" / "models", "int8")
    ready, why = default_model.verify(folder)
    if ready:
        return folder, f"SmolLM2-135M-Instruct int8 ({folder})"
    try:
        return default_model.install(folder.parent, "int8").path, "SmolLM2-135M-Instruct int8 (built now)"
    except Exception as exc:  # noqa: BLE001 - no build tools here: say so, measure the rest
        return None, (f"default model {why} and could not be built ({exc}); run `deskmate models install-default` "
                      "or pass --model FOLDER")


def load_model(path: Path, device: str, threads: int) -> tuple[Any, dict[str, Any]]:
    from agents.providers.genai import GenAIModel, RuntimeOptions

    model = GenAIModel(path, RuntimeOptions(device=device, threads=threads))  # type: ignore[arg-type]
    seconds, _ = common.timed(model.load)
    loaded = getattr(model, "_loaded", None)
    device_type = getattr(getattr(loaded, "model", None), "device_type", "?")
    return model, {"device": device, "ran_on": model.execution_provider, "runtime_device_type": str(device_type),
                   "fallback_reason": model.fallback_reason, "load_s": seconds,
                   "vram": process_vram_mib() if device == "cuda" else "-"}


def generation_figures(models: dict[str, Any], prompts: dict[str, str], rounds: int,
                       new_tokens: int) -> dict[str, dict[str, dict[str, float]]]:
    runs: dict[str, dict[str, list[dict[str, float]]]] = {}
    for _ in range(rounds):
        for device, model in models.items():  # interleaved: a busy moment hits both devices alike
            for name, text in prompts.items():
                llm_bench.run_genai(model, text, 2)
                runs.setdefault(device, {}).setdefault(name, []).append(llm_bench.run_genai(model, text, new_tokens))
    return {device: {name: {key: statistics.median(r[key] for r in rows) for key in rows[0]}
                     for name, rows in by_prompt.items()} for device, by_prompt in runs.items()}


# -- main ------------------------------------------------------------------------------------------------------------


def main() -> int:
    parser = common.parser(__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=2000, help="texts to embed on each device")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--new-tokens", type=int, default=64)
    parser.add_argument("--long-tokens", type=int, default=1000)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 2, help="CPU threads for the CPU runs")
    parser.add_argument("--model", type=Path, help="an ONNX Runtime GenAI folder instead of the default model")
    parser.add_argument("--require-cuda", action="store_true", help="fail when CUDA did not run, even with no card")
    args = parser.parse_args()
    if args.quick:
        args.chunks, args.rounds, args.new_tokens, args.long_tokens = min(args.chunks, 200), 1, 16, 300

    from agents.providers.manager import gpu

    started = time.perf_counter()
    cards, no_gpu = gpu.probe_gpus()
    preload = gpu.preload_cuda()
    import onnxruntime as ort

    cuda_asked = bool(cards) or args.require_cuda
    devices = ["cuda", "cpu"] if cuda_asked else ["cpu"]
    card_line = "; ".join(f"{c.name}, driver {c.driver}, CUDA {c.cuda or '?'}, {c.vram_free_bytes / 2**30:.1f} of "
                          f"{c.vram_total_bytes / 2**30:.1f} GiB free" for c in cards) or no_gpu
    info = common.print_header("GPU check: CUDA vs CPU, same run", {
        "gpu": card_line,
        "cuda libraries": "loaded" if preload is None else preload,
        "ort providers": ", ".join(ort.get_available_providers()),
        "onnxruntime-genai": common.package_version("onnxruntime-genai-cuda", "onnxruntime-genai"),
        "nvidia-cuda-runtime": common.package_version("nvidia-cuda-runtime", "nvidia-cuda-runtime-cu12"),
        "nvidia-cudnn": common.package_version("nvidia-cudnn-cu13", "nvidia-cudnn-cu12"),
        "cpu threads": args.threads, "chunks": args.chunks, "rounds": args.rounds, "new tokens": args.new_tokens,
    })
    if not cuda_asked:
        print("no NVIDIA GPU: CPU only\n")

    failures: list[str] = []
    chunks = texts(args.chunks)
    with common.temp_home() as home:
        embedded = {device: embed_on(device, home, chunks, args.threads) for device in devices}
    print("embedder (all-MiniLM-L6-v2 int8, OnnxEmbedder.embed over the same texts)")
    rows = []
    cpu_rate = embedded["cpu"].get("chunks_per_s")
    for device, r in embedded.items():
        if r.get("ran_on") is None:
            rows.append([device, "-", "-", "-", "-", "-", r["error"][:80]])
            continue
        nodes = ", ".join(f"{k.removesuffix('ExecutionProvider')} {v}" for k, v in r["nodes_by_provider"].items())
        rows.append([device, r["ran_on"], nodes, str(r["batch"]), f"{r['chunks_per_s']:.1f}",
                     f"{r['chunks_per_s'] / cpu_rate:.2f}x" if cpu_rate else "-", r["vram"]])
    print(common.table(["asked", "session reports", "nodes by provider", "batch", "chunks/s", "vs cpu",
                        "GPU memory"], rows))
    if "cuda" in embedded:
        r = embedded["cuda"]
        if r.get("ran_on") != "CUDAExecutionProvider" or not r["nodes_by_provider"].get("CUDAExecutionProvider"):
            why = r.get("fallback_reason") or r.get("error")
            failures.append(f"embedder: CUDA asked, ran on {r.get('ran_on')} ({why})")
        elif embedded["cpu"].get("vectors") is not None:
            cosine = (r["vectors"] * embedded["cpu"]["vectors"]).sum(axis=1)
            print(f"CUDA vs CPU vectors: cosine mean {cosine.mean():.4f}, min {cosine.min():.4f}")

    path, described = model_folder(args.model)
    print(f"\ndefault model: {described}")
    payload_model: dict[str, Any] = {}
    if path is not None:
        models, loads = {}, {}
        for device in devices:
            models[device], loads[device] = load_model(path, device, args.threads)
        first = next(iter(models.values()))
        prompts = {name: llm_bench.render(text)
                   for name, text in llm_bench.prompts(args.long_tokens, first.count_tokens).items()}
        figures = generation_figures(models, prompts, args.rounds, args.new_tokens)
        rows = []
        for device, by_prompt in figures.items():
            for name, m in by_prompt.items():
                cpu = figures["cpu"][name]
                rows.append([device, loads[device]["ran_on"], loads[device]["runtime_device_type"], name,
                             f"{m['prompt_tokens']:.0f}", f"{m['ttft_ms']:.0f}", f"{m['decode_tok_s']:.1f}",
                             f"{cpu['ttft_ms'] / m['ttft_ms']:.2f}x", f"{m['decode_tok_s'] / cpu['decode_tok_s']:.2f}x",
                             loads[device]["vram"]])
        print(common.table(["asked", "adapter ran", "runtime device", "prompt", "tokens", "first token ms",
                            "decode tok/s", "first token vs cpu", "decode vs cpu", "GPU memory"], rows))
        if "cuda" in loads:
            load = loads["cuda"]
            if load["ran_on"] != "cuda" or load["runtime_device_type"].upper() == "CPU":
                failures.append(f"model: CUDA asked, ran on {load['ran_on']} ({load['fallback_reason']})")
        payload_model = {"folder": str(path), "loads": loads, "figures": figures}
    elif cuda_asked:
        failures.append("model: not measured (no model folder)")

    print(f"\ntotal {time.perf_counter() - started:.0f} s")
    for line in failures:
        print(f"CUDA DID NOT RUN: {line}")
    common.write_json(args.json, {
        "benchmark": "gpu_check", "machine": info, "cards": [dataclasses.asdict(c) for c in cards],
        "cuda_asked": cuda_asked, "preload": preload,
        "embedder": {d: {k: v for k, v in r.items() if k != "vectors"} for d, r in embedded.items()},
        "model": payload_model, "failures": failures,
    })
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

"""Local LLM speed: Deskmate's models (ONNX Runtime GenAI) against llama.cpp on the same weights.

The embedded default model (int8 and int4, beside llama.cpp on its packaged Q4_1 GGUF), then a row per catalog
model this machine holds (downloaded or imported; an imported GGUF, or one given with --gguf NAME=PATH, runs in
llama.cpp beside it).

For a ~50-token and a ~1,300-token chat prompt: time to first token (prefill plus one step), prefill tokens/s and
decode tokens/s over a fixed number of new tokens (greedy, end-of-sequence suppressed so every runtime decodes the
same count), median of --rounds rounds, runtimes interleaved round by round, same thread count for both.

llama.cpp (llama-cpp-python) is the peer: it is what GPT4All, Jan, LM Studio and Ollama run. It is used when it
imports here, or from another interpreter given with --llama-python (it builds from source in about 10 minutes;
see bench/README.md). The Deskmate side runs through GenAIModel, the same code path as `deskmate generate`.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import common

SHORT = "In two sentences, what is a knowledge index and why does hybrid search help?"
PASSAGE = (
    "The committee reviewed the quarterly report on the migration of the archive servers. The old cluster stored "
    "scanned contracts, invoices and meeting notes from the past decade, and its backups ran nightly. During the "
    "migration the team moved each folder in turn, checked the checksums, and kept the old copy until the new "
    "index answered the same queries with the same results. "
)


def prompts(target_long: int, count: Any) -> dict[str, str]:
    """The two user messages; the long one is sized with the model's tokenizer to about ``target_long`` tokens."""
    long_text = PASSAGE
    while count(long_text) < target_long - 60:
        long_text += PASSAGE
    return {"short": SHORT, "long": long_text + "\nSummarise the report above in three sentences."}


def render(user: str) -> str:
    # SmolLM2's ChatML template, written out so both runtimes see byte-identical prompts.
    return (f"<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n{user}<|im_end|>\n"
            "<|im_start|>assistant\n")


def figures(prompt_tokens: int, started: float, stamps: list[float]) -> dict[str, float]:
    ttft = stamps[0] - started
    decode = (len(stamps) - 1) / (stamps[-1] - stamps[0]) if len(stamps) > 1 else 0.0
    return {"prompt_tokens": prompt_tokens, "ttft_ms": ttft * 1000, "prefill_tok_s": prompt_tokens / ttft,
            "decode_tok_s": decode, "new_tokens": len(stamps)}


# -- Deskmate (ONNX Runtime GenAI) ---------------------------------------------------------------------------------


def run_genai(model: Any, text: str, new_tokens: int) -> dict[str, float]:
    from agents.providers.genai import GenerationStats, SamplingOptions

    ids = model.encode(text)
    sampling = SamplingOptions(max_new_tokens=new_tokens, min_new_tokens=new_tokens)
    stamps: list[float] = []
    started = time.perf_counter()
    for _ in model.stream(ids, sampling, GenerationStats()):
        stamps.append(time.perf_counter())
    return figures(len(ids), started, stamps)


# -- llama.cpp -----------------------------------------------------------------------------------------------------


def run_llama(llm: Any, text: str, new_tokens: int) -> dict[str, float]:
    tokens = llm.tokenize(text.encode(), add_bos=False, special=True)
    llm.reset()  # no prompt-cache reuse between rounds
    stamps: list[float] = []
    started = time.perf_counter()
    for _token in llm.generate(tokens, top_k=1, top_p=1.0, temp=0.0, reset=True):
        stamps.append(time.perf_counter())
        if len(stamps) >= new_tokens:  # the loop ignores end-of-sequence: a fixed count, like min_length above
            break
    return figures(len(tokens), started, stamps)


def llama_worker(args: Any) -> None:
    """Child-process mode (any interpreter with llama_cpp): one round over the given prompts, JSON on stdout."""
    from llama_cpp import Llama

    spec = json.loads(Path(args.llama_worker).read_text())
    llm = Llama(model_path=spec["gguf"], n_ctx=4096, n_threads=spec["threads"], n_threads_batch=spec["threads"],
                n_batch=512, verbose=False)
    out = {name: run_llama(llm, text, spec["new_tokens"]) for name, text in spec["prompts"].items()}
    print(json.dumps(out))


def llama_round(python: str | None, gguf: Path, texts: dict[str, str], threads: int, new_tokens: int) -> dict | None:
    spec = {"gguf": str(gguf), "prompts": texts, "threads": threads, "new_tokens": new_tokens}
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump(spec, handle)
    try:
        if python is None:
            return None
        done = subprocess.run([python, __file__, "--llama-worker", handle.name], capture_output=True, text=True,
                              check=False)
        if done.returncode != 0:
            print(f"llama.cpp worker failed: {done.stderr.strip()[-500:]}", file=sys.stderr)
            return None
        return json.loads(done.stdout.strip().splitlines()[-1])
    finally:
        os.unlink(handle.name)


def llama_python(given: str | None) -> str | None:
    if given:
        return given
    try:
        import llama_cpp  # noqa: F401
    except ImportError:
        return None
    return sys.executable


# -- main ----------------------------------------------------------------------------------------------------------


def idle_rss_mib(path: Path, threads: int) -> float:
    """Resident memory the loaded, idle default model adds to a fresh process (after one short answer)."""
    code = (
        "import psutil, sys\n"
        "from pathlib import Path\n"
        "from agents.providers.genai import GenAIModel, RuntimeOptions, GenerationStats, SamplingOptions\n"
        "p = psutil.Process()\n"
        "before = p.memory_info().rss\n"
        f"m = GenAIModel(Path({str(path)!r}), RuntimeOptions(device='cpu', threads={threads}))\n"
        "ids = m.encode(m.chat_prompt([{'role': 'user', 'content': 'Hi'}]))\n"
        "list(m.stream(ids, SamplingOptions(max_new_tokens=8), GenerationStats()))\n"
        "print((p.memory_info().rss - before) / 2**20)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=common.REPO)
    return float(done.stdout.strip().splitlines()[-1])


@dataclass
class Contender:
    """One model: its ONNX Runtime GenAI folders by precision, and the GGUF of the same weights for llama.cpp."""

    label: str
    folders: dict[str, Path]
    gguf: Path | None
    smollm: bool = False  # the default model: prompts in its ChatML, written out


def held_models(models_dir: Path, pairs: dict[str, Path]) -> list[Contender]:
    """The catalog models downloaded and the GGUFs imported into ``models_dir`` (each with a manager manifest)."""
    found = []
    for folder in sorted(models_dir.iterdir()) if models_dir.is_dir() else []:
        manifest = folder / "manifest.json"
        if folder.name.startswith(".") or not manifest.is_file():
            continue
        try:
            data = json.loads(manifest.read_text(encoding="utf-8"))
        except ValueError:
            continue
        name = str(data.get("name") or folder.name).removeprefix("local/")
        if name == "smollm2-135m":
            continue
        source = data.get("source") or {}
        imported = source.get("path") if isinstance(source, dict) and source.get("architecture") else None
        gguf = pairs.get(name) or (Path(imported) if imported else None)  # an imported GGUF: the same weights
        found.append(Contender(name, {str(data.get("precision") or "?"): folder},
                               gguf if gguf is not None and gguf.is_file() else None))
    return found


def bench_one(contender: Contender, args: Any, llama_py: str | None) -> tuple[dict[str, Any], dict[str, Any]]:
    """Median figures per runtime and prompt for one model, runtimes interleaved round by round."""
    from agents.providers.genai import GenAIModel, RuntimeOptions

    models = {}
    for precision, path in contender.folders.items():
        models[precision] = GenAIModel(path, RuntimeOptions(device="cpu", threads=args.threads))
        models[precision].load()
    first = next(iter(models.values()))
    raw = prompts(args.long_tokens, lambda t: first.count_tokens(t))
    if contender.smollm:
        texts = {name: render(text) for name, text in raw.items()}
    else:  # the model's own chat template, rendered once: both runtimes see the same text
        system = {"role": "system", "content": "You are a helpful assistant."}
        texts = {name: first.chat_prompt([system, {"role": "user", "content": text}]) for name, text in raw.items()}
    results: dict[str, dict[str, list[dict[str, float]]]] = {}
    peer = f"{contender.label} llama.cpp"
    for _ in range(args.rounds):
        for precision, model in models.items():
            for name, text in texts.items():
                run_genai(model, text, 2)  # warm the kernels for this shape
                results.setdefault(f"{contender.label} ORT GenAI {precision}", {}).setdefault(name, []).append(
                    run_genai(model, text, args.new_tokens))
        if contender.gguf is not None:
            llama = llama_round(llama_py, contender.gguf, texts, args.threads, args.new_tokens)
            for name, row in (llama or {}).items():
                results.setdefault(peer, {}).setdefault(name, []).append(row)
    payload: dict[str, Any] = {}
    for runtime, by_prompt in results.items():
        for prompt, rows in by_prompt.items():
            payload.setdefault(runtime, {})[prompt] = {
                k: statistics.median(r[k] for r in rows)
                for k in ("prompt_tokens", "ttft_ms", "prefill_tok_s", "decode_tok_s")}
    rss = {f"{contender.label} {precision}": idle_rss_mib(model.path, args.threads)
           for precision, model in models.items()}
    return payload, rss


def main() -> None:
    p = common.parser(__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--new-tokens", type=int, default=64)
    p.add_argument("--long-tokens", type=int, default=1300)
    p.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    p.add_argument("--precisions", default="int8,int4")
    p.add_argument("--llama-python", help="an interpreter with llama-cpp-python installed")
    p.add_argument("--models-dir", type=Path,
                   help="where downloaded and imported models are (default: Deskmate's data folder)")
    p.add_argument("--gguf", action="append", default=[], metavar="NAME=PATH",
                   help="a GGUF of the same weights as the held model NAME, for llama.cpp beside it")
    p.add_argument("--only-default", action="store_true", help="only the embedded default model")
    p.add_argument("--llama-worker", help=argparse_hidden())
    args = p.parse_args()
    if args.llama_worker:
        llama_worker(args)
        return
    if args.quick:
        args.rounds, args.new_tokens, args.long_tokens = 1, 16, 400

    from agents.providers import default_model
    from app.settings import load_settings

    cache = common.REPO / ".cache" / "models"
    precisions = [x.strip() for x in args.precisions.split(",") if x.strip()]
    folders = {precision: default_model.install(cache, precision).path  # type: ignore[arg-type]
               for precision in precisions}
    contenders = [Contender("SmolLM2-135M", folders, default_model.locate_gguf(), smollm=True)]
    if not args.only_default:
        pairs = dict(item.split("=", 1) for item in args.gguf)
        models_dir = args.models_dir or load_settings()[1].models_dir
        contenders += held_models(models_dir, {k: Path(v) for k, v in pairs.items()})
    llama_py = llama_python(args.llama_python)
    info = common.print_header("local LLM: ONNX Runtime GenAI vs llama.cpp", {
        "models": ", ".join(c.label + (" (+GGUF)" if c.gguf else "") for c in contenders),
        "onnxruntime-genai": common.package_version("onnxruntime-genai-cuda", "onnxruntime-genai"),
        "llama.cpp": llama_py or "not available (pass --llama-python)",
        "threads": args.threads, "rounds": args.rounds, "new tokens": args.new_tokens,
    })
    payload: dict[str, Any] = {}
    rss: dict[str, float] = {}
    for contender in contenders:
        figures_, memory = bench_one(contender, args, llama_py)
        payload.update(figures_)
        rss.update(memory)
    rows = [[runtime, prompt, f"{m['prompt_tokens']:.0f}", f"{m['ttft_ms']:.0f}", f"{m['prefill_tok_s']:.0f}",
             f"{m['decode_tok_s']:.1f}"] for runtime, by_prompt in payload.items() for prompt, m in by_prompt.items()]
    print(common.table(["runtime", "prompt", "tokens", "first token ms", "prefill tok/s", "decode tok/s"], rows))
    ratio_rows = []
    for contender in contenders:
        peer = payload.get(f"{contender.label} llama.cpp")
        if peer is None:
            continue
        for runtime, by_prompt in payload.items():
            if not runtime.startswith(f"{contender.label} ORT"):
                continue
            for prompt, ours in by_prompt.items():
                theirs = peer[prompt]
                ratio_rows.append([runtime, prompt, f"{ours['decode_tok_s'] / theirs['decode_tok_s']:.2f}x",
                                   f"{ours['prefill_tok_s'] / theirs['prefill_tok_s']:.2f}x",
                                   f"{theirs['ttft_ms'] / ours['ttft_ms']:.2f}x"])
    if ratio_rows:
        print("\nratio vs llama.cpp on the same weights (>1 is faster than llama.cpp)")
        print(common.table(["runtime", "prompt", "decode", "prefill", "first token"], ratio_rows))
    print("\nresident memory added by the loaded, idle model: "
          + ", ".join(f"{k} {v:.0f} MiB" for k, v in rss.items()))
    common.write_json(args.json, {"machine": info, "results": payload, "idle_rss_mib": rss})


def argparse_hidden() -> str:
    import argparse

    return argparse.SUPPRESS


if __name__ == "__main__":
    main()

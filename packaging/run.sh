#!/usr/bin/env bash
# Sets Deskmate up on first use (venv, packages, the embedded default model), then runs it with the given arguments
# (none: the desktop app, or where things stand when there is no display).
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
EXTRAS=model-build bash "$here/packaging/setup.sh"
# Idempotent: a verified model is left alone (a second run costs a size check); progress goes to stderr.
"$here/.venv/bin/deskmate" models install-default > /dev/null
exec "$here/.venv/bin/deskmate" "$@"

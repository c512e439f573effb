#!/usr/bin/env bash
# Sets Deskmate up on first use, then runs it with the given arguments (none: an overview of where things stand).
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
bash "$here/packaging/setup.sh"
exec "$here/.venv/bin/deskmate" "$@"

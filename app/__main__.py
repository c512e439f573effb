"""``python -m app`` runs the Deskmate command line."""

from __future__ import annotations

from app.cli import main

# Guarded: local models run in spawned child processes, which import this module again under another name.
if __name__ == "__main__":
    raise SystemExit(main())

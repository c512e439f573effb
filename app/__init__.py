"""Deskmate's desktop shell: the composition root (wiring/), the command line (cli/), the Qt app (gui/), settings."""

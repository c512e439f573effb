"""Deskmate's desktop shell: composition root, command line, settings and logging (the Qt windows come later)."""

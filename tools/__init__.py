"""Deskmate's hands: plain typed Python the agent can call (the knowledge index, file reading, ...)."""

"""Logging set-up: a rotating file in Deskmate's log folder, and stderr when --verbose; secrets masked in both."""

from __future__ import annotations

import logging
import logging.handlers
import sys
from pathlib import Path

from agents.guard.redaction import redact


class RedactingFormatter(logging.Formatter):
    """Masks secrets (API keys, tokens, passwords), and with ``pii`` personal data, in each record and traceback."""

    def __init__(self, fmt: str, *, pii: bool = False) -> None:
        super().__init__(fmt)
        self.pii = pii

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record), pii=self.pii).text


def configure_logging(log_file: Path, level: str = "INFO", *, verbose: bool = False, pii: bool = False) -> None:
    log_file.parent.mkdir(parents=True, exist_ok=True)
    root = logging.getLogger()
    root.setLevel(logging.DEBUG if verbose else level)
    for handler in list(root.handlers):
        root.removeHandler(handler)
    file_handler = logging.handlers.RotatingFileHandler(
        log_file, maxBytes=5 * 1024 * 1024, backupCount=3, encoding="utf-8"
    )
    file_handler.setFormatter(RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s", pii=pii))
    root.addHandler(file_handler)
    if verbose:
        stderr = logging.StreamHandler(sys.stderr)
        stderr.setFormatter(RedactingFormatter("%(levelname)s %(name)s: %(message)s", pii=pii))
        root.addHandler(stderr)
    # Third-party chatter stays out of the user's log unless asked for.
    for noisy in ("lance", "lancedb", "onnxruntime", "pypdf", "watchdog", "openai", "httpx", "httpx2", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.DEBUG if verbose else logging.WARNING)

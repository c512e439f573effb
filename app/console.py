"""Where the command line writes: results on stdout (tables or JSON), progress and notes on stderr."""

from __future__ import annotations

import json
import sys
from typing import Any

from rich.console import Console

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False)


def emit(data: Any) -> None:
    """``data`` as indented JSON on stdout (``--json`` output)."""
    json.dump(data, sys.stdout, indent=2, default=str)
    sys.stdout.write("\n")

"""Hypothesis profiles for the fuzz tests: few examples in the normal run, many on request, none written to the repo.

- ``fuzz`` (default): a small number of examples per test, so the whole fuzz set stays cheap on two cores.
- ``deep``: ``DESKMATE_FUZZ_EXAMPLES=2000 pytest tests/security`` (or ``HYPOTHESIS_PROFILE=deep``, 2000 by default).

No deadline (timing belongs in bench/, and a shared machine is slow at random); derandomized under CI so a red run
replays the same inputs. Hypothesis keeps no example database, and its caches go to a temporary folder, so no
``.hypothesis/`` folder appears in the working tree. The profile is loaded for the whole pytest run, so any
other hypothesis test gets the same rules.
"""

from __future__ import annotations

import getpass
import os
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis.configuration import set_hypothesis_home_dir

if not os.environ.get("HYPOTHESIS_STORAGE_DIRECTORY"):
    set_hypothesis_home_dir(Path(tempfile.gettempdir()) / f"deskmate-hypothesis-{getpass.getuser()}")

_DEEP_EXAMPLES = int(os.environ.get("DESKMATE_FUZZ_EXAMPLES") or 0)

settings.register_profile(
    "fuzz",
    max_examples=25,
    deadline=None,
    derandomize=bool(os.environ.get("CI")),
    database=None,
    print_blob=True,
    # The parser fuzz runs each example in the indexer's worker process, which hypothesis counts as slow.
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("deep", parent=settings.get_profile("fuzz"), max_examples=_DEEP_EXAMPLES or 2000)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE") or ("deep" if _DEEP_EXAMPLES else "fuzz"))

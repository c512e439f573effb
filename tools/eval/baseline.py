"""The retrieval gate: nDCG@10 per mode stored as a baseline per dataset, and a run compared with it.

The baseline file is JSON keyed by dataset name (the collection folder's name), each holding nDCG@10 per search
mode: ``{"cranfield": {"fts": 0.368, "vector": 0.380, "hybrid": 0.412}}``. A mode fails the gate when its new
figure is more than ``tolerance`` (absolute nDCG) below its baseline; a mode without a baseline never fails.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from tools.errors import EvalError

DEFAULT_TOLERANCE = 0.02
DIGITS = 4  # stored figures are rounded: differences below this are noise in the last place

Baselines = dict[str, dict[str, float]]  # dataset -> mode -> nDCG@10


@dataclass(frozen=True, slots=True)
class ModeComparison:
    mode: str
    baseline: float | None  # None: this mode has no stored baseline yet
    now: float
    tolerance: float

    @property
    def difference(self) -> float | None:
        return None if self.baseline is None else round(self.now - self.baseline, DIGITS)

    @property
    def dropped(self) -> bool:
        """More than the tolerance below the baseline (a drop of exactly the tolerance passes)."""
        difference = self.difference
        return difference is not None and difference < -self.tolerance - 10 ** -(DIGITS + 2)

    def message(self) -> str:
        if self.baseline is None:
            return f"{self.mode}: nDCG@10 {self.now:.3f}, no baseline yet (--update-baseline stores one)"
        verdict = "dropped" if self.dropped else "within tolerance"
        return (f"{self.mode}: nDCG@10 {verdict}: {self.now:.4f} against the baseline {self.baseline:.4f} "
                f"({self.difference:+.4f}, tolerance {self.tolerance:.4f})")

    def as_dict(self) -> dict[str, float | str | bool | None]:
        return {"mode": self.mode, "baseline": self.baseline, "now": self.now, "difference": self.difference,
                "tolerance": self.tolerance, "dropped": self.dropped}


def dataset_name(folder: Path) -> str:
    """The key a collection's baseline is stored under: its folder's name (``.../eval/cranfield``: ``cranfield``)."""
    return folder.resolve().name


def load_baselines(path: Path) -> Baselines:
    """Every stored baseline; an absent file is an empty set, a malformed one an EvalError."""
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise EvalError(f"cannot read the baseline file {path}: {exc}") from exc
    if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
        raise EvalError(f"{path}: expected {{dataset: {{mode: nDCG@10}}}}")
    try:
        return {str(name): {str(m): float(v) for m, v in modes.items()} for name, modes in data.items()}
    except (TypeError, ValueError) as exc:
        raise EvalError(f"{path}: a baseline figure is not a number ({exc})") from exc


def compare(now: Mapping[str, float], baseline: Mapping[str, float],
            tolerance: float = DEFAULT_TOLERANCE) -> list[ModeComparison]:
    """One comparison per mode measured now, in the order measured."""
    if tolerance < 0:
        raise EvalError(f"the tolerance must not be negative, not {tolerance}")
    return [ModeComparison(mode, baseline.get(mode), round(value, DIGITS), tolerance) for mode, value in now.items()]


def failures(comparisons: list[ModeComparison]) -> list[ModeComparison]:
    return [c for c in comparisons if c.dropped]


def update_baseline(path: Path, dataset: str, now: Mapping[str, float]) -> Baselines:
    """Store ``now`` as ``dataset``'s baseline (modes not measured now keep theirs); written atomically."""
    baselines = load_baselines(path)
    baselines[dataset] = {**baselines.get(dataset, {}), **{m: round(v, DIGITS) for m, v in now.items()}}
    text = json.dumps(dict(sorted(baselines.items())), indent=2, sort_keys=True) + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise EvalError(f"cannot write the baseline file {path}: {exc}") from exc
    return baselines

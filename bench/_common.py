"""Helpers the benchmark scripts share."""

from __future__ import annotations

import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile; NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def spawn(argv: list[str], env: dict, log: Path) -> subprocess.Popen:
    """Start a process in its own session, stdout and stderr to `log`, cwd the repo."""
    with open(log, "w") as fh:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(
            argv, cwd=REPO, env=env, stdout=fh, stderr=subprocess.STDOUT, start_new_session=True
        )

"""Helpers the benchmark scripts share. Processes are started and stopped with
nyiops.processes (shared with the demo and the tests); importing this module makes the
project importable from a script run in bench/."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile; NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def start_demo_fleet(state: Path, extra: int, env: dict, timeout: float = 300) -> subprocess.Popen:
    """fleetsim serving the demo fleet (20 hosts) plus `extra` generated ones under `state`,
    ready; its log beside `state`. Imported late: importing nyiops reads the settings, which
    each bench points at its own var/, database and broker first."""
    from nyiops.processes import start_fleetsim

    return start_fleetsim(
        REPO / "demo" / "fleet.yaml",
        state,
        log=state.parent / "fleet.log",
        env=env,
        scale=extra,
        timeout=timeout,
    )

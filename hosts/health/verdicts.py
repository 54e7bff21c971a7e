"""Severity levels and the thresholds the health rules judge by."""

from __future__ import annotations

from dataclasses import dataclass

CRITICAL, WARNING, INFO = "critical", "warning", "info"


@dataclass(frozen=True)
class Thresholds:
    pool_capacity_warning: int = 80
    pool_capacity_critical: int = 90
    scrub_max_age_days: int = 35
    state_divergence_share: float = 0.10  # of the larger table
    state_divergence_min: int = 100  # tables smaller than this never diverge meaningfully
    backend_min_up_share: float = 0.5
    backup_stale_factor: float = 1.5
    poll_stale_intervals: int = 3


DEFAULT_THRESHOLDS = Thresholds()

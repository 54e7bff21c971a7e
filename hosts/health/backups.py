"""Health rules for backup jobs: rsync exit codes, missing snapshots, staleness (pure)."""

from __future__ import annotations

from datetime import datetime

from hosts.health.state import BackupView, Finding
from hosts.health.verdicts import (
    DEFAULT_THRESHOLDS,
    WARNING,
    Thresholds,
    backup_age_limit,
    rsync_meaning,
)


def evaluate_backup(
    b: BackupView, now: datetime, t: Thresholds = DEFAULT_THRESHOLDS
) -> list[Finding]:
    out = []
    scope = f"host:{b.target_id}"
    severity, meaning = rsync_meaning(b.last_exit_code)
    if severity is not None:
        message = f"backup {b.name} of {b.source} failed: exit {b.last_exit_code}, {meaning}"
        if b.last_error:
            message += f" ({b.last_error[:160]})"
        out.append(
            Finding(
                "backup_failed",
                severity,
                scope,
                f"backup_failed:job:{b.name}",
                f"backup {b.name}",
                message,
                host_id=b.source_id,
                details={"exit_code": b.last_exit_code, "meaning": meaning},
            )
        )
    elif b.last_exit_code == 0 and b.last_snapshot_verified is False:
        out.append(
            Finding(
                "backup_failed",
                WARNING,
                scope,
                f"backup_failed:job:{b.name}",
                f"backup {b.name}",
                f"backup {b.name} of {b.source}: rsync succeeded but its snapshot "
                "is missing on the target",
                host_id=b.source_id,
                details={"exit_code": 0, "meaning": "snapshot missing"},
            )
        )
    limit = backup_age_limit(b.schedule_minutes, t)
    reference = b.last_success_at or b.created_hint
    if reference is not None and now - reference > limit:
        age = now - reference
        hours = age.total_seconds() / 3600
        what = "last good backup" if b.last_success_at else "no good backup since tracking began"
        out.append(
            Finding(
                "backup_stale",
                WARNING,
                scope,
                f"backup_stale:job:{b.name}",
                f"backup {b.name}",
                f"backup {b.name} of {b.source}: {what} {hours:.1f} h ago "
                f"(schedule every {b.schedule_minutes / 60:g} h)",
                host_id=b.source_id,
                details={"age_hours": round(hours, 1)},
            )
        )
    return out

"""Store backup runs read from the storage host's backup log, with snapshot checks."""

from __future__ import annotations

from hosts.freebsd.backuplog import parse_backup_log
from hosts.models import BackupJob, BackupRun
from hosts.polling.plan import Section
from hosts.polling.store.common import PollContext, read


def _snapshot_names(ctx: PollContext, section: Section | None, job: BackupJob) -> set[str] | None:
    result = read(ctx, f"backup:{job.name}", section)
    if result is None:
        return None
    return {d.name for d in result.datasets}


def store_backups(ctx: PollContext, sections: dict[str, Section], jobs: list[BackupJob]) -> None:
    for job in jobs:
        subsystem = f"backup:{job.name}"
        log_section = sections.get(f"backup-log:{job.name}")
        if log_section is None:
            ctx.errors[subsystem] = "no output (the poll was cut short)"
            continue
        if log_section.exit_status != 0:
            first = log_section.output.strip().splitlines()[:1]
            ctx.errors[subsystem] = f"cannot read {job.log_path}: {first[0] if first else ''}"[:300]
            continue
        log = parse_backup_log(log_section.output)
        if log.parse_errors:
            ctx.errors[subsystem] = f"backup log: {log.parse_errors[0]}"
        snapshots = _snapshot_names(ctx, sections.get(f"snapshots:{job.name}"), job)
        known = set(job.runs.values_list("started_at", flat=True))
        for run in log.runs:
            if run.job != job.name:
                continue
            verified = None if snapshots is None or not run.snapshot else run.snapshot in snapshots
            values = {
                "finished_at": run.finished_at,
                "exit_code": run.exit_code,
                "bytes_transferred": run.stats.total_transferred_size if run.stats else None,
                "total_file_size": run.stats.total_file_size if run.stats else None,
                "files_transferred": run.stats.files_transferred if run.stats else None,
                "snapshot": run.snapshot or "",
                "snapshot_verified": verified,
                "error_lines": list(run.stats.error_lines) if run.stats else [],
            }
            if run.started_at in known:
                BackupRun.objects.filter(job=job, started_at=run.started_at).exclude(
                    finished_at=run.finished_at,
                    exit_code=run.exit_code,
                    snapshot_verified=verified,
                ).update(**values)
                continue
            BackupRun.objects.create(job=job, started_at=run.started_at, **values)
            if run.exit_code is not None:
                ctx.change(
                    "backup",
                    job.name,
                    "result",
                    "",
                    "ok" if run.exit_code == 0 else f"exit {run.exit_code}",
                )
                ctx.metric("backup_bytes", job.name, values["bytes_transferred"])
                if run.finished_at:
                    duration = (run.finished_at - run.started_at).total_seconds()
                    ctx.metric("backup_duration_s", job.name, duration)

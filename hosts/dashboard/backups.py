"""The backups widget of the NOC overview: per customer, its worst-off restore point
(read side, one query)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Max, OuterRef, Q, Subquery
from django.utils import timezone

from hosts.dashboard.common import Filters, digest, health_matches, host_filter
from hosts.health.verdicts import (
    GOOD_BACKUP_EXIT,
    TONE_RANK,
    backup_verdict,
    configured_thresholds,
)
from hosts.models import BackupJob, BackupRun


@dataclass(frozen=True)
class BackupRow:
    customer: str
    customer_id: int | None
    jobs: int
    worst_job: str
    worst_job_id: int
    last_good_at: datetime | None
    last_exit: int | None
    tone: str
    verdict: str


def backups(f: Filters, known: str | None = None) -> dict:
    """Per customer, the age of its oldest "last good restore point" across its jobs: the
    restore point you would actually get for the worst-off host. One query."""
    now = timezone.now()
    good = Q(runs__exit_code__in=GOOD_BACKUP_EXIT) & ~Q(runs__snapshot_verified=False)
    last_exit = BackupRun.objects.filter(job=OuterRef("pk")).order_by("-started_at")
    jobs = (
        BackupJob.objects.filter(host_filter(f, "source__"))
        .annotate(
            last_good=Max("runs__finished_at", filter=good),
            last_exit=Subquery(last_exit.values("exit_code")[:1]),
            last_verified=Subquery(last_exit.values("snapshot_verified")[:1]),
        )
        .values_list(
            "pk", "name", "schedule_minutes", "last_good", "last_exit",
            "source__customer_id", "source__customer__name", "created_at", "last_verified",
        )
        .order_by("name")
        .distinct()
    )  # fmt: skip
    t = configured_thresholds()
    worst: dict = {}
    for row in jobs:
        pk, name, schedule, last_good, exit_code, cust_id, cust_name, created, verified = row
        verdict = backup_verdict(exit_code, last_good, created, schedule, now, t, verified)
        age = (now - last_good).total_seconds() if last_good else float("inf")
        # The worst job first by the judge's tone, then by how overdue it is.
        rank = (TONE_RANK.get(verdict.tone, 1), age / (schedule * 60))
        entry = worst.setdefault(cust_id, [cust_name or "Internal", 0, None])
        entry[1] += 1
        if entry[2] is None or rank > entry[2][0]:
            entry[2] = (rank, name, pk, last_good, exit_code, verdict)
    rows = []
    for cust_id, (cust_name, count, job) in worst.items():
        _rank, name, pk, last_good, exit_code, verdict = job
        rows.append(
            BackupRow(
                cust_name, cust_id, count, name, pk, last_good, exit_code,
                verdict.tone, verdict.text,
            )
        )  # fmt: skip
    rows.sort(key=lambda r: ({"critical": 0, "warning": 1}.get(r.tone, 2), r.customer))
    if f.health:
        rows = [r for r in rows if health_matches(r.tone, False, f.health)]
    return {"rows": rows, "generated_at": now, "version": digest(rows)}

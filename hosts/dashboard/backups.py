"""The backups widget of the NOC overview: per customer, its worst-off restore point
(read side, one query)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Max, OuterRef, Q, Subquery
from django.utils import timezone

from hosts.dashboard.common import Filters, digest, health_matches, host_filter
from hosts.dashboard.storage import GOOD_BACKUP_EXIT
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
        )
        .values_list(
            "pk", "name", "schedule_minutes", "last_good", "last_exit",
            "source__customer_id", "source__customer__name",
        )
        .order_by("name")
        .distinct()
    )  # fmt: skip
    worst: dict = {}
    for pk, name, schedule, last_good, exit_code, cust_id, cust_name in jobs:
        age = (now - last_good).total_seconds() if last_good else float("inf")
        overdue = age / (schedule * 60)
        entry = worst.setdefault(cust_id, [cust_name or "Internal", 0, None])
        entry[1] += 1
        if entry[2] is None or overdue > entry[2][0]:
            entry[2] = (overdue, name, pk, last_good, exit_code)
    rows = []
    for cust_id, (cust_name, count, (overdue, name, pk, last_good, exit_code)) in worst.items():
        if last_good is None:
            tone, verdict = "critical", "no good restore point"
        elif overdue > 2:
            tone, verdict = "critical", "restore point too old"
        elif overdue > 1.25:
            tone, verdict = "warning", "last run overdue"
        else:
            tone, verdict = "ok", "fresh"
        rows.append(
            BackupRow(cust_name, cust_id, count, name, pk, last_good, exit_code, tone, verdict)
        )
    rows.sort(key=lambda r: ({"critical": 0, "warning": 1}.get(r.tone, 2), r.customer))
    if f.health:
        rows = [r for r in rows if health_matches(r.tone, False, f.health)]
    return {"rows": rows, "generated_at": now, "version": digest(rows)}

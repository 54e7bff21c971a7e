"""Worker liveness from canary tasks: the record a canary leaves, and the judgement read by
/healthz/worker.

Owns only the heartbeat rows named `worker.canary.<queue>`. It must not decide anything
about alerts: a stalled worker is an operator's problem that the liveness probe surfaces."""

from datetime import timedelta

from django.conf import settings

from alerts.models import Heartbeat

PREFIX = "worker.canary."


def record_canary(queue: str, now) -> None:
    Heartbeat.objects.update_or_create(
        name=f"{PREFIX}{queue}", defaults={"at": now, "detail": f"canary completed on {queue}"}
    )


def worker_liveness(queues, now) -> dict:
    """{"status": "ok" | "not consuming", "queues": {queue: {...}}}: a queue is consumed when
    its last canary completed within NYIOPS_WORKER_LIVENESS_SECONDS."""
    window = timedelta(seconds=settings.NYIOPS_WORKER_LIVENESS_SECONDS)
    seen = dict(
        Heartbeat.objects.filter(name__in=[f"{PREFIX}{q}" for q in queues]).values_list(
            "name", "at"
        )
    )
    report = {}
    for queue in queues:
        at = seen.get(f"{PREFIX}{queue}")
        if at is None:
            report[queue] = {"consuming": False, "reason": "no canary has completed yet"}
            continue
        age = (now - at).total_seconds()
        ok = now - at <= window
        report[queue] = {"consuming": ok, "last_canary_at": at.isoformat(), "age_s": round(age, 1)}
        if not ok:
            report[queue]["reason"] = (
                f"last canary completed {age:.0f} s ago (limit {window.total_seconds():.0f} s)"
            )
    status = "ok" if all(r["consuming"] for r in report.values()) else "not consuming"
    return {"status": status, "queues": report}

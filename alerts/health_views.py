"""/healthz/worker: is every queue consumed? Public like /healthz (a probe has no login); it
shows queue names and ages, nothing about hosts or customers."""

from django.http import JsonResponse
from django.utils import timezone
from django.views.decorators.http import require_GET

from alerts.liveness import worker_liveness
from nyiops.celery import QUEUES
from nyiops.outage import DATABASE_ERRORS, first_line


@require_GET
def worker_health(request):
    try:
        report = worker_liveness(QUEUES, timezone.now())
    except DATABASE_ERRORS as exc:
        return JsonResponse(
            {"status": "unknown", "database": f"unreachable: {first_line(exc)}"}, status=503
        )
    return JsonResponse(report, status=200 if report["status"] == "ok" else 503)

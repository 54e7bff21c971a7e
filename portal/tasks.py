"""Customer-side Celery tasks: thin wrappers over portal.notices."""

import smtplib

from nyiops.tasks import Retry, nyiops_task
from portal import incidents, notices, provisioning


@nyiops_task(
    queue="notify",
    soft_time_limit=30,
    time_limit=40,
    retry=Retry(on=(smtplib.SMTPException, ConnectionError, TimeoutError), max_retries=5),
)
def send_request_notice(request_id: int, kind: str) -> str:
    sent = notices.deliver_request_notice(request_id, kind)
    return f"request {request_id} {kind}: {sent} recipient(s)"


@nyiops_task(queue="notify", soft_time_limit=20, time_limit=30, retry=None)
def sync_provisioning() -> str:
    """Beat, every few seconds: requests follow their provisioning operations."""
    return f"{provisioning.sync_requests()} request(s) moved on"


@nyiops_task(queue="notify", soft_time_limit=30, time_limit=40, retry=None)
def sweep_incident_notices() -> str:
    """Beat: tell customers about incidents opening and closing on their services."""
    opened, resolved = incidents.send_due()
    return f"incident notices: {opened} opened, {resolved} resolved"


@nyiops_task(
    queue="notify",
    soft_time_limit=30,
    time_limit=40,
    retry=Retry(on=(smtplib.SMTPException, ConnectionError, TimeoutError), max_retries=5),
)
def send_incident_notice(customer_id: int, alert_id: int, opened: bool) -> str:
    sent = incidents.deliver(customer_id, alert_id, opened)
    return f"incident {alert_id} {'opened' if opened else 'resolved'}: {sent} recipient(s)"

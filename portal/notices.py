"""Email notices to a customer about its requests and incidents on its services.

Owns who is told (the requesting user and the customer's contacts with an email) and the
words. Sending happens after commit, on the `notify` queue, so a rolled-back change sends
nothing and a slow mail server never holds a web request or a transaction. It must not
decide anything about the request: it only reports what the services did.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.urls import reverse

from customers.models import JailRequest
from nyiops.celery import app as celery_app

log = logging.getLogger(__name__)

SUBJECTS = {
    "received": "Jail request {name}: received",
    "approved": "Jail request {name}: approved, being set up",
    "ready": "Jail {name} is ready",
    "rejected": "Jail request {name}: not approved",
    "failed": "Jail request {name}: setup failed",
    "incident-opened": "Incident on your service: {name}",
    "incident-resolved": "Resolved: {name}",
}
BODIES = {
    "received": "We received your request for the jail {name} ({hostname}, {ip}). "
    "Our NOC reviews it and you will hear from us when it is approved.",
    "approved": "Your jail {name} ({hostname}, {ip}) is approved and being set up.",
    "ready": "Your jail {name} ({hostname}, {ip}) is running.",
    "rejected": "Your request for the jail {name} was not approved: {text}",
    "failed": "Setting up your jail {name} did not complete: {text} Our NOC has been told.",
}


def recipients(customer, user=None) -> list[str]:
    emails = [c.get("email") for c in customer.contacts or [] if c.get("email")]
    if user is not None and getattr(user, "email", ""):
        emails.insert(0, user.email)
    return list(dict.fromkeys(emails))


def send(req, kind: str) -> None:
    """Queue one notice about a jail request, sent once the transaction commits."""
    # By name: portal.tasks imports this module, so importing it back would make a loop.
    transaction.on_commit(
        lambda: celery_app.send_task("portal.tasks.send_request_notice", args=[req.pk, kind])
    )


def deliver_request_notice(request_id: int, kind: str) -> int:
    """Build and send one notice; returns how many addresses it went to."""
    req = (
        JailRequest.objects.select_related("customer", "requested_by").filter(pk=request_id).first()
    )
    if req is None or kind not in BODIES:
        return 0
    to = recipients(req.customer, req.requested_by)
    if not to:
        return 0
    fields = {"name": req.name, "hostname": req.hostname, "ip": req.ip, "text": req.status_text}
    link = settings.NYIOPS_BASE_URL + reverse("customers:request", args=[req.pk])
    body = BODIES[kind].format(**fields) + f"\n\n{link}\n"
    EmailMessage(SUBJECTS[kind].format(**fields), body, to=to).send()
    return len(to)


def deliver_incident_notice(customer, *, opened: bool, title: str, services: list[str]) -> int:
    to = recipients(customer)
    if not to:
        return 0
    kind = "incident-opened" if opened else "incident-resolved"
    what = ", ".join(services) or "your services"
    body = (
        f"An incident affects {what}: {title}. We are working on it."
        if opened
        else f"The incident on {what} is resolved: {title}."
    )
    link = settings.NYIOPS_BASE_URL + reverse("customers:portal")
    EmailMessage(SUBJECTS[kind].format(name=title), f"{body}\n\n{link}\n", to=to).send()
    return len(to)

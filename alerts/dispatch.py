"""Enqueue alert tasks after the current transaction commits.

Tasks are sent by name so that services need not import tasks.py (which imports the
services): the dependency stays one-way. A message lost here is not lost work: the beat
sweepers find due escalations and pending notifications in the database."""

import logging

from django.db import transaction
from kombu.exceptions import OperationalError

from nyiops.celery import app

log = logging.getLogger(__name__)


def _send(name: str, args: list, countdown: float = 0) -> None:
    try:
        app.send_task(name, args=args, countdown=countdown or None)
    except (OperationalError, OSError) as exc:
        # Broker down: the row is due in the database, the sweeper sends it when it is back.
        # Runs on commit inside a web request: raising here would turn a saved change
        # into a 500.
        log.warning("broker unavailable (%s), %s%s left to the sweeper", exc, name, args)


def escalate_soon(alert_id: int, token: str, countdown: float = 0) -> None:
    transaction.on_commit(
        lambda: _send("alerts.tasks.escalate_alert", [alert_id, token], countdown)
    )


def send_soon(notification_id: int, countdown: float = 0) -> None:
    transaction.on_commit(
        lambda: _send("alerts.tasks.send_notification", [notification_id], countdown)
    )

"""Webhook delivery against a loopback HTTP server: signature, retries, delivery log."""

import datetime as dt
import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from django.utils import timezone

from alerts import paging, services, sweeps
from alerts.channels import webhook
from alerts.choices import ChannelKind, EventKind, NotificationStatus, TargetType
from alerts.models import (
    DeliveryAttempt,
    EscalationPolicy,
    EscalationStep,
    Notification,
    NotificationChannel,
)
from tests.alerts.factories import failover_finding

pytestmark = pytest.mark.django_db


class Receiver:
    """Answers each POST with the next status in `statuses` (the last one repeats)."""

    def __init__(self, statuses, delay=0.0):
        self.statuses, self.delay, self.requests = list(statuses), delay, []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append((dict(self.headers), body))
                if receiver.delay:
                    threading.Event().wait(receiver.delay)
                status = (
                    receiver.statuses.pop(0) if len(receiver.statuses) > 1 else receiver.statuses[0]
                )
                self.send_response(status)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def webhook_policy(url):
    channel = NotificationChannel.objects.create(
        name="team hook", kind=ChannelKind.WEBHOOK, url=url, secret="s3cret"
    )
    policy = EscalationPolicy.objects.create(name="Hook", is_default=True)
    EscalationStep.objects.create(
        policy=policy, position=0, target_type=TargetType.CHANNEL, channel=channel
    )
    return channel


def open_and_step(cluster):
    failover_finding(cluster)
    services.sync_alerts([f"cluster:{cluster.pk}"])
    sweeps.escalate_due(timezone.now())
    return Notification.objects.get()


def test_webhook_is_signed_json_with_a_stable_delivery_id(clock, pair):
    with Receiver([200]) as receiver:
        webhook_policy(receiver.url)
        notification = open_and_step(pair[0])
        result = paging.deliver_notification(notification.pk, now=timezone.now())

    assert result.startswith("sent")
    headers, body = receiver.requests[0]
    expected = hmac.new(
        b"s3cret", headers["X-Nyiops-Timestamp"].encode() + b"." + body, hashlib.sha256
    ).hexdigest()
    assert headers["X-Nyiops-Signature"] == f"sha256={expected}"
    assert headers["X-Nyiops-Delivery"] == notification.idempotency_key
    payload = json.loads(body)
    assert payload["alert"]["kind"] == "preferred_master_is_backup"
    assert payload["alert"]["details"]["vhids"] == [1, 2]


def test_webhook_retries_transient_errors_with_backoff_and_logs_each_attempt(
    clock, pair, sent_tasks, django_capture_on_commit_callbacks
):
    with Receiver([503, 500, 200]) as receiver:
        webhook_policy(receiver.url)
        notification = open_and_step(pair[0])
        with django_capture_on_commit_callbacks(execute=True):
            first = paging.deliver_notification(notification.pk, now=timezone.now())
        too_early = paging.deliver_notification(notification.pk, now=timezone.now())
        clock.shift(dt.timedelta(seconds=2))
        with django_capture_on_commit_callbacks(execute=True):
            second = paging.deliver_notification(notification.pk, now=timezone.now())
        clock.shift(dt.timedelta(seconds=4))
        third = paging.deliver_notification(notification.pk, now=timezone.now())

    assert "retry in 2 s" in first and too_early.startswith("not due")
    assert "retry in 4 s" in second and third.startswith("sent")
    log = list(
        DeliveryAttempt.objects.order_by("attempt").values_list("attempt", "ok", "status_code")
    )
    assert log == [(1, False, 503), (2, False, 500), (3, True, 200)]
    assert len(receiver.requests) == 3
    notification.refresh_from_db()
    assert notification.status == NotificationStatus.SENT
    retries = [c for c in sent_tasks if c[0] == "alerts.tasks.send_notification"]
    assert [(c[1], c[2]) for c in retries] == [([notification.pk], 2), ([notification.pk], 4)]


def test_webhook_client_error_is_permanent_and_not_retried(clock, pair):
    with Receiver([404]) as receiver:
        channel = webhook_policy(receiver.url)
        notification = open_and_step(pair[0])
        result = paging.deliver_notification(notification.pk, now=timezone.now())

    notification.refresh_from_db()
    channel.refresh_from_db()
    assert result.startswith("failed") and notification.status == NotificationStatus.FAILED
    assert channel.last_error == "HTTP 404 from webhook"
    assert notification.alert.events.filter(kind=EventKind.NOTIFY_FAILED).exists()


def test_webhook_gives_up_after_max_attempts(clock, pair):
    with Receiver([502]) as receiver:
        webhook_policy(receiver.url)
        notification = open_and_step(pair[0])
        for _ in range(paging.MAX_ATTEMPTS):
            paging.deliver_notification(notification.pk, now=timezone.now())
            clock.shift(dt.timedelta(seconds=paging.BACKOFF_MAX_SECONDS))

    notification.refresh_from_db()
    assert notification.status == NotificationStatus.FAILED
    assert DeliveryAttempt.objects.count() == paging.MAX_ATTEMPTS == len(receiver.requests)


def test_webhook_timeout_is_transient(clock, pair, monkeypatch):
    monkeypatch.setattr(webhook, "TIMEOUT_SECONDS", 0.2)
    with Receiver([200], delay=1.0) as receiver:
        webhook_policy(receiver.url)
        notification = open_and_step(pair[0])
        result = paging.deliver_notification(notification.pk, now=timezone.now())

    assert "timed out after 0.2 s" in result and "retry in 2 s" in result


def test_a_page_to_a_person_has_an_ack_link_in_its_text_but_never_in_the_payload(
    clock, pair, oncall_user
):
    from alerts import messages

    with Receiver([200]) as receiver:
        webhook_policy(receiver.url)
        notification = open_and_step(pair[0])
    notification.recipient = oncall_user
    notification.save()

    message = messages.build(notification)

    assert "/alerts/ack/" in message.text
    assert "/alerts/ack/" not in json.dumps(message.payload)


class DrippingReceiver:
    """Sends a 200 with a long body one byte every 50 ms (bounded: stops after 20 s)."""

    def __init__(self):
        import socket

        self.server = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.server.getsockname()[1]}/hook"
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        try:
            conn, _ = self.server.accept()
        except OSError:
            return
        with conn:
            conn.recv(65536)
            try:
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 400\r\n\r\n")
                for _ in range(400):
                    conn.sendall(b"x")
                    threading.Event().wait(0.05)
            except OSError:
                return

    def close(self):
        self.server.close()


def test_webhook_that_drips_its_answer_is_cut_off_at_the_total_deadline(clock, pair, monkeypatch):
    """Each byte arrives well within the socket timeout, so only the whole-exchange watchdog
    can end it (RELIABILITY A7: a notify thread is never held by a receiver)."""
    monkeypatch.setattr(webhook, "TIMEOUT_SECONDS", 0.3)
    receiver = DrippingReceiver()
    try:
        webhook_policy(receiver.url)
        notification = open_and_step(pair[0])
        result = paging.deliver_notification(notification.pk, now=timezone.now())
    finally:
        receiver.close()

    assert "webhook answer not complete within 0.6 s" in result
    assert "retry in 2 s" in result  # transient: retried with backoff

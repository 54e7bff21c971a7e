"""Email through Django's mail backend (console or file backend in the demo)."""

import smtplib

from django.conf import settings
from django.core.mail import EmailMessage

from alerts.channels.base import Message, TransportError


def send(channel, message: Message) -> int | None:
    if not channel.email:
        raise TransportError("the channel has no email address", permanent=True)
    mail = EmailMessage(
        subject=message.subject,
        body=message.text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[channel.email],
        headers={"X-Nyiops-Notification": message.idempotency_key},
    )
    try:
        mail.send(fail_silently=False)
    except smtplib.SMTPRecipientsRefused as exc:
        raise TransportError(f"recipient refused: {channel.email}", permanent=True) from exc
    except (smtplib.SMTPException, OSError) as exc:
        raise TransportError(f"mail server error: {exc}"[:300]) from exc
    return None

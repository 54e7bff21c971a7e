"""Notification transports: one module per channel kind, one error type for callers."""

from alerts.channels import email, webhook
from alerts.channels.base import Message, TransportError
from alerts.choices import ChannelKind

TRANSPORTS = {ChannelKind.EMAIL: email.send, ChannelKind.WEBHOOK: webhook.send}

__all__ = ["TRANSPORTS", "Message", "TransportError"]

"""Outgoing event webhook subscriptions: shared webhook channels with event types."""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from rest_framework import serializers

from alerts.choices import EVENT_TYPES, ChannelKind
from alerts.models import DeliveryAttempt, Notification, NotificationChannel
from api.serializers.base import StrictSerializerMixin
from audit.services import record


class WebhookSerializer(StrictSerializerMixin, serializers.ModelSerializer):
    event_types = serializers.ListField(
        child=serializers.ChoiceField(choices=EVENT_TYPES), min_length=1, max_length=4
    )
    secret = serializers.CharField(
        write_only=True,
        required=False,
        min_length=16,
        max_length=200,
        help_text="HMAC-SHA256 key for the X-Nyiops-Signature header; never shown back.",
    )
    url = serializers.URLField(max_length=200)

    class Meta:
        model = NotificationChannel
        fields = ["id", "name", "url", "secret", "event_types", "enabled", "last_error"]
        read_only_fields = ["last_error"]

    def _save(self, channel, data, action):
        for name, value in data.items():
            setattr(channel, name, value)
        channel.kind, channel.user = ChannelKind.WEBHOOK, None
        try:
            channel.full_clean()
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.message_dict) from exc
        request = self.context["request"]
        with transaction.atomic():
            channel.save()
            record(
                actor=request.user,
                action=f"alerts.webhook.{action}",
                target=channel,
                after={"url": channel.url, "event_types": channel.event_types},
            )
        return channel

    def create(self, validated_data):
        return self._save(NotificationChannel(), validated_data, "create")

    def update(self, instance, validated_data):
        return self._save(instance, validated_data, "update")


class DeliveryAttemptSerializer(serializers.ModelSerializer):
    class Meta:
        model = DeliveryAttempt
        fields = ["at", "attempt", "ok", "status_code", "error", "duration_ms"]


class DeliverySerializer(serializers.ModelSerializer):
    """One outgoing event to one webhook, with every attempt (the delivery log)."""

    attempts_log = DeliveryAttemptSerializer(many=True, read_only=True)

    class Meta:
        model = Notification
        fields = [
            "id",
            "event_type",
            "event_key",
            "status",
            "created_at",
            "next_attempt_at",
            "attempts",
            "sent_at",
            "last_error",
            "attempts_log",
        ]

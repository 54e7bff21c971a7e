"""Alerts, read-only, and the bodies of acknowledge and resolve."""

from rest_framework import serializers

from alerts.models import Alert
from api.serializers.base import StrictSerializer


class AlertSerializer(serializers.ModelSerializer):
    customer = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    host = serializers.CharField(source="host.name", read_only=True, allow_null=True)
    cluster = serializers.CharField(source="cluster.name", read_only=True, allow_null=True)
    acknowledged_by = serializers.CharField(
        source="acknowledged_by.username", read_only=True, allow_null=True
    )
    resolved_by = serializers.CharField(
        source="resolved_by.username", read_only=True, allow_null=True
    )

    class Meta:
        model = Alert
        fields = [
            "id",
            "dedup_key",
            "kind",
            "severity",
            "state",
            "subject",
            "message",
            "details",
            "magnitude",
            "host_id",
            "host",
            "cluster_id",
            "cluster",
            "customer",
            "parent_id",
            "expected",
            "expected_reason",
            "suppressed",
            "opened_at",
            "last_seen_at",
            "acknowledged_at",
            "acknowledged_by",
            "ack_note",
            "ack_eta",
            "resolved_at",
            "resolved_by",
            "resolve_note",
        ]


class AcknowledgeSerializer(StrictSerializer):
    note = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
    eta_minutes = serializers.IntegerField(
        min_value=1, max_value=7 * 24 * 60, required=False, allow_null=True, default=None
    )


class ResolveSerializer(StrictSerializer):
    note = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")

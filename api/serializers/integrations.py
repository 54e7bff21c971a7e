"""Alertmanager's webhook payload (version 4) and the receiver configuration."""

from rest_framework import serializers

from api.models import AlertmanagerReceiver
from api.serializers.base import StrictSerializerMixin
from customers.models import Customer

MAX_ALERTS = 1000


class LabelsField(serializers.DictField):
    child = serializers.CharField(allow_blank=True, max_length=2000)


class AlertmanagerAlertSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["firing", "resolved"])
    labels = LabelsField()
    annotations = LabelsField(required=False)
    startsAt = serializers.CharField(required=False, allow_blank=True, max_length=64)
    endsAt = serializers.CharField(required=False, allow_blank=True, max_length=64)
    generatorURL = serializers.CharField(required=False, allow_blank=True, max_length=2000)
    fingerprint = serializers.CharField(required=False, allow_blank=True, max_length=64)


class AlertmanagerPayloadSerializer(serializers.Serializer):
    """Alertmanager may add top-level fields in later versions: unknown ones are ignored,
    but `alerts` and each alert's `status` and `labels` must be there and well typed."""

    version = serializers.CharField(required=False, max_length=10)
    status = serializers.ChoiceField(choices=["firing", "resolved"], required=False)
    receiver = serializers.CharField(required=False, allow_blank=True, max_length=200)
    groupKey = serializers.CharField(required=False, allow_blank=True, max_length=2000)
    alerts = AlertmanagerAlertSerializer(many=True, max_length=MAX_ALERTS)


class ReceivedSerializer(serializers.Serializer):
    firing = serializers.IntegerField()
    resolved = serializers.IntegerField()
    matched_hosts = serializers.IntegerField()
    alerts_opened = serializers.ListField(child=serializers.IntegerField())
    alerts_resolved = serializers.ListField(child=serializers.IntegerField())


class AlertmanagerReceiverSerializer(StrictSerializerMixin, serializers.ModelSerializer):
    customer = serializers.SlugRelatedField(
        slug_field="slug", queryset=Customer.objects.all(), required=False, allow_null=True
    )
    url = serializers.SerializerMethodField()

    class Meta:
        model = AlertmanagerReceiver
        fields = [
            "id",
            "name",
            "enabled",
            "customer",
            "default_severity",
            "created_at",
            "last_received_at",
            "url",
        ]
        read_only_fields = ["created_at", "last_received_at"]

    def get_url(self, obj) -> str:
        return f"/api/integrations/alertmanager/{obj.pk}/"

"""Operations (staff) and jail requests (customers and NOC): read shapes and write bodies."""

from rest_framework import serializers

from api.serializers.base import StrictSerializer
from customers.choices import Affinity, JailPurpose
from customers.models import JailRequest
from operations.models import Operation, OperationEvent, OperationStep

OUTPUT_CAP = 4000


class OperationStepSerializer(serializers.ModelSerializer):
    # Plain strings in the schema: its own choice sets would collide with other "state"s.
    state = serializers.CharField(read_only=True)
    phase = serializers.CharField(read_only=True)
    host = serializers.CharField(source="host.name", read_only=True, allow_null=True)
    stdout = serializers.SerializerMethodField()
    stderr = serializers.SerializerMethodField()

    class Meta:
        model = OperationStep
        fields = [
            "position", "phase", "key", "title", "host", "argv", "state", "exit_status",
            "stdout", "stderr", "verify_message", "started_at", "finished_at", "duration_ms",
        ]  # fmt: skip

    def get_stdout(self, step) -> str:
        return step.stdout[-OUTPUT_CAP:]

    def get_stderr(self, step) -> str:
        return step.stderr[-OUTPUT_CAP:]


class OperationEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = OperationEvent
        fields = ["at", "kind", "message", "actor_name"]


class OperationSerializer(serializers.ModelSerializer):
    target = serializers.CharField(source="target_label", read_only=True)
    requester = serializers.CharField(source="requested_by_name", read_only=True)
    approver = serializers.CharField(source="approved_by.username", read_only=True, allow_null=True)

    class Meta:
        model = Operation
        fields = [
            "id", "kind", "state", "target", "params", "reason", "requester", "approver",
            "created_at", "approved_at", "started_at", "finished_at", "awaiting", "result",
        ]  # fmt: skip


class OperationDetailSerializer(OperationSerializer):
    preflight = serializers.JSONField(read_only=True)
    plan = serializers.JSONField(read_only=True)
    steps = OperationStepSerializer(many=True, read_only=True)
    timeline = OperationEventSerializer(source="events", many=True, read_only=True)

    class Meta(OperationSerializer.Meta):
        fields = [*OperationSerializer.Meta.fields, "preflight", "plan", "steps", "timeline"]


class PlanSerializer(StrictSerializer):
    kind = serializers.CharField(max_length=40)
    target = serializers.CharField(max_length=200)
    params = serializers.DictField(child=serializers.JSONField(), required=False, default=dict)
    reason = serializers.CharField(max_length=300, required=False, default="", allow_blank=True)

    def validate_params(self, value):
        for key, item in value.items():
            if not isinstance(item, str | int | float | bool):
                raise serializers.ValidationError(f"{key}: a string, number or boolean.")
        return {k: v if isinstance(v, str) else str(v).lower() if isinstance(v, bool) else str(v)
                for k, v in value.items()}  # fmt: skip


class EmptySerializer(StrictSerializer):
    pass


class JailRequestSerializer(serializers.ModelSerializer):
    customer = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    host = serializers.CharField(source="host.name", read_only=True, allow_null=True)

    class Meta:
        model = JailRequest
        fields = [
            "id", "customer", "purpose", "twin_of_id", "twin_of_label", "name", "hostname",
            "size_gb", "template", "ip", "affinity", "host", "status", "status_text",
            "created_at", "decided_at",
        ]  # fmt: skip


class JailRequestCreateSerializer(StrictSerializer):
    purpose = serializers.ChoiceField(choices=JailPurpose.choices)
    twin_of = serializers.IntegerField(required=False, allow_null=True, min_value=1)
    hostname = serializers.RegexField(r"^[A-Za-z0-9.-]{1,253}$", max_length=253)
    name = serializers.RegexField(
        r"^[a-z][a-z0-9_-]{0,31}$", required=False, allow_blank=True, max_length=32
    )
    size_gb = serializers.IntegerField(min_value=1, max_value=100_000)
    template = serializers.CharField(max_length=60, required=False, allow_blank=True)
    ip = serializers.IPAddressField(protocol="IPv4", required=False, allow_blank=True)
    affinity = serializers.ChoiceField(choices=Affinity.choices, required=False)


class JailApproveSerializer(StrictSerializer):
    host = serializers.IntegerField(required=False, allow_null=True, min_value=1)


class JailRejectSerializer(StrictSerializer):
    reason = serializers.CharField(max_length=500)

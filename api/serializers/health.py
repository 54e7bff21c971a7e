"""Cluster health as the one judge sees it: the same verdicts, tones and staleness the
dashboard and the portal show, serialized (plain dicts in, documented shape out)."""

from rest_framework import serializers


class VerdictSerializer(serializers.Serializer):
    tone = serializers.CharField()
    text = serializers.CharField()


class MemberHealthSerializer(serializers.Serializer):
    host_id = serializers.IntegerField()
    name = serializers.CharField()
    role = serializers.CharField()
    freshness = serializers.CharField()
    reason = serializers.CharField(allow_blank=True)
    last_success_at = serializers.DateTimeField(allow_null=True)
    pf_states = serializers.IntegerField(allow_null=True)
    pfsync = VerdictSerializer()


class VhidCellSerializer(serializers.Serializer):
    host = serializers.CharField()
    state = serializers.CharField(allow_blank=True)
    fresh = serializers.BooleanField()


class VhidHealthSerializer(serializers.Serializer):
    vhid = serializers.IntegerField()
    interface = serializers.CharField()
    vips = serializers.CharField(allow_blank=True)
    verdict = VerdictSerializer()
    members = VhidCellSerializer(many=True)


class BackendCellSerializer(serializers.Serializer):
    host = serializers.CharField()
    up = serializers.IntegerField()
    total = serializers.IntegerField()
    status = serializers.CharField(allow_blank=True)
    scur = serializers.IntegerField(allow_null=True)


class BackendHealthSerializer(serializers.Serializer):
    name = serializers.CharField()
    verdict = VerdictSerializer()
    members = BackendCellSerializer(many=True)


class JailCountSerializer(serializers.Serializer):
    host = serializers.CharField()
    running = serializers.IntegerField()
    total = serializers.IntegerField()


class FindingTextSerializer(serializers.Serializer):
    severity = serializers.CharField()
    message = serializers.CharField()


class ClusterHealthSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    kind = serializers.CharField()
    customer = serializers.CharField(allow_blank=True)
    tone = serializers.CharField(help_text="ok | warning | critical")
    word = serializers.CharField()
    summary = serializers.CharField(allow_blank=True)
    stale = serializers.BooleanField()
    masters = serializers.ListField(child=serializers.CharField())
    failover = VerdictSerializer(allow_null=True)
    drift = serializers.ListField(child=serializers.CharField())
    members = MemberHealthSerializer(many=True)
    vhids = VhidHealthSerializer(many=True)
    backends = BackendHealthSerializer(many=True)
    jails = JailCountSerializer(many=True)
    findings = FindingTextSerializer(many=True)

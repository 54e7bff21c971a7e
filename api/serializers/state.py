"""Observed state, read-only: what polling discovered, with the host it belongs to."""

from rest_framework import serializers

from hosts.models import (
    BackupRun,
    CarpVhid,
    Finding,
    HaproxyBackend,
    HaproxyServer,
    Jail,
    Mirror,
    MirrorComponent,
    StatusEvent,
    ZPool,
    ZPoolDevice,
)

OBSERVED = ["first_seen_at", "changed_at", "gone_at"]


class HostRefMixin(serializers.Serializer):
    host = serializers.CharField(source="host.name", read_only=True)
    host_id = serializers.IntegerField(read_only=True)


class VhidSerializer(HostRefMixin, serializers.ModelSerializer):
    vips = serializers.ListField(child=serializers.CharField(), read_only=True)

    class Meta:
        model = CarpVhid
        fields = [
            "id",
            "host_id",
            "host",
            "interface",
            "vhid",
            "state",
            "advbase",
            "advskew",
            "vips",
            "peer",
            *OBSERVED,
        ]


class ZPoolDeviceSerializer(serializers.ModelSerializer):
    class Meta:
        model = ZPoolDevice
        fields = [
            "name",
            "section",
            "depth",
            "state",
            "read_errors",
            "write_errors",
            "cksum_errors",
            "note",
        ]


class ZPoolSerializer(HostRefMixin, serializers.ModelSerializer):
    devices = ZPoolDeviceSerializer(many=True, read_only=True)

    class Meta:
        model = ZPool
        fields = [
            "id",
            "host_id",
            "host",
            "name",
            "health",
            "size",
            "alloc",
            "free",
            "frag_pct",
            "cap_pct",
            "status",
            "action",
            "scan_kind",
            "scan_state",
            "scan_pct",
            "scan_eta",
            "scan_finished_at",
            "errors",
            "devices",
            *OBSERVED,
        ]


class MirrorComponentSerializer(serializers.ModelSerializer):
    flags = serializers.ListField(child=serializers.CharField(), read_only=True)

    class Meta:
        model = MirrorComponent
        fields = ["name", "state", "flags", "synchronized_pct"]


class MirrorSerializer(HostRefMixin, serializers.ModelSerializer):
    components = MirrorComponentSerializer(many=True, read_only=True)

    class Meta:
        model = Mirror
        fields = [
            "id",
            "host_id",
            "host",
            "name",
            "state",
            "balance",
            "components_count",
            "components",
            *OBSERVED,
        ]


class JailSerializer(HostRefMixin, serializers.ModelSerializer):
    ipv4 = serializers.ListField(child=serializers.CharField(), read_only=True)
    ipv6 = serializers.ListField(child=serializers.CharField(), read_only=True)

    class Meta:
        model = Jail
        fields = [
            "id",
            "host_id",
            "host",
            "name",
            "jid",
            "hostname",
            "path",
            "ipv4",
            "ipv6",
            "running",
            *OBSERVED,
        ]


class HaproxyServerSerializer(serializers.ModelSerializer):
    class Meta:
        model = HaproxyServer
        fields = ["name", "address", "status", "weight", "check_status", "scur", "gone_at"]


class BackendSerializer(HostRefMixin, serializers.ModelSerializer):
    servers = HaproxyServerSerializer(many=True, read_only=True)

    class Meta:
        model = HaproxyBackend
        fields = [
            "id",
            "host_id",
            "host",
            "name",
            "status",
            "scur",
            "servers_up",
            "servers_total",
            "servers",
            *OBSERVED,
        ]


class BackupRunSerializer(serializers.ModelSerializer):
    job = serializers.CharField(source="job.name", read_only=True)
    job_id = serializers.IntegerField(read_only=True)
    error_lines = serializers.ListField(child=serializers.CharField(), read_only=True)
    succeeded = serializers.BooleanField(read_only=True)

    class Meta:
        model = BackupRun
        fields = [
            "id",
            "job_id",
            "job",
            "started_at",
            "finished_at",
            "exit_code",
            "succeeded",
            "bytes_transferred",
            "total_file_size",
            "files_transferred",
            "snapshot",
            "snapshot_verified",
            "error_lines",
        ]


class FindingSerializer(serializers.ModelSerializer):
    host = serializers.CharField(source="host.name", read_only=True, allow_null=True)
    cluster = serializers.CharField(source="cluster.name", read_only=True, allow_null=True)

    class Meta:
        model = Finding
        fields = [
            "id",
            "dedup_key",
            "kind",
            "severity",
            "host_id",
            "host",
            "cluster_id",
            "cluster",
            "subject",
            "message",
            "details",
            "first_seen_at",
            "last_seen_at",
        ]


class StatusEventSerializer(HostRefMixin, serializers.ModelSerializer):
    class Meta:
        model = StatusEvent
        fields = ["id", "host_id", "host", "at", "subject_type", "subject", "field", "old", "new"]

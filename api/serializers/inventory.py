"""Inventory in the inventory file's shape (references by slug or name), plus ids and
read-only observed fields. Writes go through `api.inventory.upsert` (the file import's
validation); the DRF fields here only check JSON types, so the messages a person sees for
a bad value are the import's own."""

import json

from rest_framework import serializers

from api import inventory
from api.serializers.base import StrictSerializerMixin
from customers.models import Customer
from hosts.choices import ClusterKind, HostRole, MemberRole
from hosts.models import BackupJob, Cluster, Host, Site
from nyiops.roles import is_staff_role


def _ref(attr: str, key: str):
    """A reference by slug or name, as in the inventory file; null when unset. The import
    cannot unset a reference, so a write of null is refused (see `validate`)."""
    return serializers.CharField(
        source=f"{attr}.{key}", required=False, allow_null=True, max_length=200
    )


class InventorySerializer(StrictSerializerMixin, serializers.ModelSerializer):
    """Create/update one object through the inventory import.

    Subclasses give `section` and `key` (the file's names); an update starts from the
    object's current entry so that fields the request leaves out keep their values."""

    section = ""
    key = "name"

    def get_fields(self):
        fields = super().get_fields()
        for field in fields.values():
            # Value rules (ranges, formats, lengths) are the import's to judge, with its
            # messages; DRF keeps only the JSON type checks.
            if not field.read_only:
                field.validators = []
        return fields

    def validate(self, attrs):
        nulls = [
            name
            for name, value in self.initial_data.items()
            if value is None and name in self.fields and not self.fields[name].read_only
        ]
        if nulls:
            raise serializers.ValidationError(
                {name: ["Cannot be cleared through the API."] for name in nulls}
            )
        renamed = self.initial_data.get(self.key, getattr(self.instance, self.key, None))
        if self.instance is not None and renamed != getattr(self.instance, self.key):
            raise serializers.ValidationError({self.key: ["Cannot be changed."]})
        return attrs

    def entry_from(self, data) -> dict:
        """The inventory entry for the fields the request names: type-checked values, and
        the raw slug/name for references (their dotted sources are not the file's shape)."""
        entry = {}
        for name, field in self.fields.items():
            if field.read_only or name not in self.initial_data:
                continue
            if "." in field.source or field.source not in data:
                entry[name] = self.initial_data[name]
            else:
                entry[name] = json.loads(json.dumps(data[field.source]))  # plain dicts/lists
        return entry

    def current_entry(self) -> dict:
        rep = self.to_representation(self.instance)
        return {
            name: rep[name]
            for name, field in self.fields.items()
            if not field.read_only and rep.get(name) not in (None, "", [])
        }

    def create(self, validated_data):
        entry = self.entry_from(validated_data)
        inventory.upsert(self.section, entry, request=self.context["request"], created=True)
        return self.Meta.model.objects.get(**{self.key: entry[self.key]})

    def update(self, instance, validated_data):
        entry = self.current_entry() | self.entry_from(validated_data)
        inventory.upsert(self.section, entry, request=self.context["request"], created=False)
        instance.refresh_from_db()
        return instance


class CustomerSerializer(InventorySerializer):
    section, key = "customers", "slug"
    contacts = serializers.ListField(child=serializers.JSONField(), required=False)
    ip_ranges = serializers.ListField(child=serializers.CharField(max_length=50), required=False)

    class Meta:
        model = Customer
        fields = ["id", "slug", "name", "sla_tier", "contacts", "ip_ranges", "notes"]
        extra_kwargs = {"slug": {"validators": []}}


class SiteSerializer(InventorySerializer):
    section, key = "sites", "slug"

    class Meta:
        model = Site
        fields = ["id", "slug", "name"]
        extra_kwargs = {"slug": {"validators": []}}


class HostSerializer(InventorySerializer):
    section = "hosts"
    credential = _ref("credential", "name")
    customer = _ref("customer", "slug")
    site = _ref("site", "slug")
    roles = serializers.ListField(child=serializers.ChoiceField(choices=HostRole.choices))
    host_key = serializers.CharField(
        source="host_key_line", required=False, allow_blank=True, allow_null=True, max_length=2000
    )
    host_key_fingerprint = serializers.CharField(read_only=True, allow_null=True)

    # How nyiops reaches the host is the provider's business, not the tenant's: customers
    # get these as null.
    STAFF_ONLY = (
        "address",
        "ssh_port",
        "ssh_user",
        "credential",
        "host_key",
        "host_key_fingerprint",
    )

    def to_representation(self, instance):
        rep = super().to_representation(instance)
        if not self._staff_reader():
            rep.update(dict.fromkeys(self.STAFF_ONLY))
        return rep

    def _staff_reader(self) -> bool:
        # Once per request, not once per row (a role check is a query).
        root = self.root
        if not hasattr(root, "_staff_reader_cache"):
            request = self.context.get("request")
            root._staff_reader_cache = request is not None and is_staff_role(request.user)
        return root._staff_reader_cache

    class Meta:
        model = Host
        fields = [
            "id",
            "name",
            "address",
            "ssh_port",
            "ssh_user",
            "credential",
            "roles",
            "customer",
            "site",
            "host_key",
            "enabled",
            "poll_interval",
            "host_key_fingerprint",
            "reachability",
            "reachability_reason",
            "last_poll_at",
            "last_success_at",
            "last_poll_duration_ms",
        ]
        read_only_fields = [
            "reachability",
            "reachability_reason",
            "last_poll_at",
            "last_success_at",
            "last_poll_duration_ms",
        ]
        extra_kwargs = {
            "name": {"validators": []},
            "ssh_user": {"required": False, "allow_null": True},
            "address": {"allow_null": True},
            "ssh_port": {"allow_null": True},
        }


class MemberSerializer(StrictSerializerMixin, serializers.Serializer):
    host = serializers.CharField(max_length=63)
    role = serializers.ChoiceField(choices=MemberRole.choices)


class ClusterSerializer(InventorySerializer):
    section = "clusters"
    customer = _ref("customer", "slug")
    kind = serializers.ChoiceField(choices=ClusterKind.choices)
    members = MemberSerializer(many=True, required=False)

    class Meta:
        model = Cluster
        fields = ["id", "name", "kind", "customer", "description", "members"]
        extra_kwargs = {"name": {"validators": []}}


class BackupJobSerializer(InventorySerializer):
    section = "backup_jobs"
    source = _ref("source", "name")
    target = _ref("target", "name")
    customer = serializers.SlugRelatedField(
        source="source.customer", slug_field="slug", read_only=True
    )

    class Meta:
        model = BackupJob
        fields = [
            "id",
            "name",
            "source",
            "target",
            "dataset",
            "schedule_minutes",
            "log_path",
            "customer",
            "created_at",
        ]
        extra_kwargs = {"name": {"validators": []}}

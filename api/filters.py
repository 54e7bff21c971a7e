"""Query filters (django-filter): customer and site by slug, kind or role, health, and time
ranges on events. A filter naming another tenant's customer simply matches nothing: the
queryset was scoped before filtering."""

import django_filters as df
from django.db.models import Q

from alerts.choices import AlertState
from alerts.models import Alert
from hosts.choices import ClusterKind, HostRole, Reachability
from hosts.models import (
    BackupJob,
    BackupRun,
    CarpVhid,
    Cluster,
    Finding,
    HaproxyBackend,
    Host,
    Jail,
    Mirror,
    Severity,
    StatusEvent,
    ZPool,
)

HOST_HEALTH = {
    "ok": Q(reachability=Reachability.OK),
    "unreachable": ~Q(reachability__in=[Reachability.OK, Reachability.NEW, Reachability.DISABLED]),
    "new": Q(reachability=Reachability.NEW),
    "disabled": Q(reachability=Reachability.DISABLED) | Q(enabled=False),
}


class HostFilter(df.FilterSet):
    customer = df.CharFilter(field_name="customer__slug")
    site = df.CharFilter(field_name="site__slug")
    role = df.ChoiceFilter(choices=HostRole.choices, method="filter_role")
    kind = df.ChoiceFilter(choices=HostRole.choices, method="filter_role", help_text="= role")
    health = df.ChoiceFilter(choices=[(k, k) for k in HOST_HEALTH], method="filter_health")
    reachability = df.ChoiceFilter(choices=Reachability.choices)
    name = df.CharFilter(lookup_expr="icontains")

    class Meta:
        model = Host
        fields = ["enabled"]

    def filter_role(self, queryset, name, value):
        return queryset.with_role(value)

    def filter_health(self, queryset, name, value):
        return queryset.filter(HOST_HEALTH[value])


class ClusterFilter(df.FilterSet):
    customer = df.CharFilter(field_name="customer__slug")
    site = df.CharFilter(method="filter_site")
    kind = df.ChoiceFilter(choices=ClusterKind.choices)
    name = df.CharFilter(lookup_expr="icontains")

    class Meta:
        model = Cluster
        fields = []

    def filter_site(self, queryset, name, value):
        return queryset.filter(members__host__site__slug=value).distinct()


class ClusterHealthFilter(ClusterFilter):
    health = df.ChoiceFilter(
        choices=[("ok", "ok"), ("warning", "warning"), ("critical", "critical")],
        method="filter_health_later",
        help_text="The judge's tone; applied by the view after judging.",
    )

    def filter_health_later(self, queryset, name, value):
        return queryset  # the view judges the clusters, then keeps this tone


class BackupJobFilter(df.FilterSet):
    customer = df.CharFilter(field_name="source__customer__slug")
    site = df.CharFilter(field_name="source__site__slug")
    source = df.CharFilter(field_name="source__name")
    target = df.CharFilter(field_name="target__name")

    class Meta:
        model = BackupJob
        fields = []


def observed_filter(model_, extra: list[str]):
    """A filter set for rows that hang off a host: host id or name, customer, site, present."""

    class ObservedFilter(df.FilterSet):
        host = df.CharFilter(field_name="host__name")
        host_id = df.NumberFilter(field_name="host_id")
        customer = df.CharFilter(field_name="host__customer__slug")
        site = df.CharFilter(field_name="host__site__slug")
        present = df.BooleanFilter(field_name="gone_at", lookup_expr="isnull")

        class Meta:
            model = model_
            fields = extra

    ObservedFilter.__name__ = f"{model_.__name__}Filter"
    return ObservedFilter


VhidFilter = observed_filter(CarpVhid, ["state", "vhid", "interface"])
ZPoolFilter = observed_filter(ZPool, ["health", "name"])
MirrorFilter = observed_filter(Mirror, ["state", "name"])
JailFilter = observed_filter(Jail, ["running", "name"])
BackendFilter = observed_filter(HaproxyBackend, ["status", "name"])


class BackupRunFilter(df.FilterSet):
    job = df.CharFilter(field_name="job__name")
    customer = df.CharFilter(field_name="job__source__customer__slug")
    since = df.IsoDateTimeFilter(field_name="started_at", lookup_expr="gte")
    until = df.IsoDateTimeFilter(field_name="started_at", lookup_expr="lt")

    class Meta:
        model = BackupRun
        fields = ["exit_code"]


class FindingFilter(df.FilterSet):
    customer = df.CharFilter(method="filter_customer")
    site = df.CharFilter(field_name="host__site__slug")
    severity = df.ChoiceFilter(choices=Severity.choices)
    health = df.ChoiceFilter(
        choices=Severity.choices, field_name="severity", help_text="= severity"
    )
    host = df.CharFilter(field_name="host__name")
    cluster = df.CharFilter(field_name="cluster__name")

    class Meta:
        model = Finding
        fields = ["kind"]

    def filter_customer(self, queryset, name, value):
        return queryset.filter(Q(host__customer__slug=value) | Q(cluster__customer__slug=value))


class StatusEventFilter(df.FilterSet):
    host = df.CharFilter(field_name="host__name")
    host_id = df.NumberFilter(field_name="host_id")
    customer = df.CharFilter(field_name="host__customer__slug")
    site = df.CharFilter(field_name="host__site__slug")
    since = df.IsoDateTimeFilter(
        field_name="at", lookup_expr="gte", help_text="ISO 8601, inclusive"
    )
    until = df.IsoDateTimeFilter(field_name="at", lookup_expr="lt", help_text="ISO 8601, exclusive")

    class Meta:
        model = StatusEvent
        fields = ["subject_type", "field"]


class AlertFilter(df.FilterSet):
    customer = df.CharFilter(field_name="customer__slug")
    state = df.ChoiceFilter(choices=AlertState.choices)
    severity = df.ChoiceFilter(choices=Severity.choices)
    open = df.BooleanFilter(field_name="resolved_at", lookup_expr="isnull")
    since = df.IsoDateTimeFilter(field_name="opened_at", lookup_expr="gte")
    until = df.IsoDateTimeFilter(field_name="opened_at", lookup_expr="lt")

    class Meta:
        model = Alert
        fields = ["kind"]

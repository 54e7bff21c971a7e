"""Observed state, read-only: cluster health from the judge, and the rows polling keeps
(vhids, pools, mirrors, jails, backends, backup runs, findings, status events)."""

from django.shortcuts import get_object_or_404
from rest_framework.response import Response

from api import health
from api.access import scoped, scoped_any
from api.filters import (
    BackendFilter,
    BackupRunFilter,
    ClusterHealthFilter,
    FindingFilter,
    JailFilter,
    MirrorFilter,
    StatusEventFilter,
    VhidFilter,
    ZPoolFilter,
)
from api.pagination import NewestFirstPagination
from api.serializers import state as s
from api.serializers.health import ClusterHealthSerializer
from api.views.base import ReadOnlyViewSet
from hosts.models import (
    BackupRun,
    CarpVhid,
    Cluster,
    Finding,
    HaproxyBackend,
    Jail,
    Mirror,
    StatusEvent,
    ZPool,
)


class ClusterHealthViewSet(ReadOnlyViewSet):
    """Each cluster as one unit: per-VHID verdicts across both members, pfsync, failover,
    backends, drift, findings. `health` keeps clusters the judge rates at that tone."""

    serializer_class = ClusterHealthSerializer
    filterset_class = ClusterHealthFilter

    def get_queryset(self):
        return scoped(Cluster.objects.all(), self.request.user)

    def list(self, request, *args, **kwargs):
        clusters = self.filter_queryset(self.get_queryset())
        tone = request.query_params.get("health")
        judged = None
        if tone:
            # Tone is the judge's verdict, not a column: judge every candidate once, keep
            # those at this tone, and page through them.
            judged = {v["id"]: v for v in health.judge(clusters) if v["tone"] == tone}
            clusters = clusters.filter(pk__in=list(judged))
        page = self.paginate_queryset(clusters)
        if judged is None:
            judged = {
                v["id"]: v for v in health.judge(clusters.filter(pk__in=[c.pk for c in page]))
            }
        data = [judged[c.pk] for c in page if c.pk in judged]
        return self.get_paginated_response(ClusterHealthSerializer(data, many=True).data)

    def retrieve(self, request, *args, **kwargs):
        cluster = get_object_or_404(self.get_queryset(), pk=kwargs["pk"])
        (view,) = health.judge(Cluster.objects.filter(pk=cluster.pk))
        return Response(ClusterHealthSerializer(view).data)


def _observed(model, serializer, filterset, *, related=("host",), prefetch=()):
    class ObservedViewSet(ReadOnlyViewSet):
        serializer_class = serializer
        filterset_class = filterset

        def get_queryset(self):
            qs = model.objects.select_related(*related).prefetch_related(*prefetch)
            return scoped(qs, self.request.user, "host__customer")

    ObservedViewSet.__name__ = f"{model.__name__}ViewSet"
    ObservedViewSet.__doc__ = f"{model._meta.verbose_name_plural} as last polled (read-only)."
    return ObservedViewSet


VhidViewSet = _observed(CarpVhid, s.VhidSerializer, VhidFilter)
ZPoolViewSet = _observed(ZPool, s.ZPoolSerializer, ZPoolFilter, prefetch=("devices",))
MirrorViewSet = _observed(Mirror, s.MirrorSerializer, MirrorFilter, prefetch=("components",))
JailViewSet = _observed(Jail, s.JailSerializer, JailFilter)
BackendViewSet = _observed(
    HaproxyBackend, s.BackendSerializer, BackendFilter, prefetch=("servers",)
)


class BackupRunViewSet(ReadOnlyViewSet):
    serializer_class = s.BackupRunSerializer
    filterset_class = BackupRunFilter
    pagination_class = NewestFirstPagination

    def get_queryset(self):
        qs = BackupRun.objects.select_related("job")
        return scoped(qs, self.request.user, "job__source__customer")


class FindingViewSet(ReadOnlyViewSet):
    """Current problems found by the health rules (and by Alertmanager receivers)."""

    serializer_class = s.FindingSerializer
    filterset_class = FindingFilter

    def get_queryset(self):
        qs = Finding.objects.select_related("host", "cluster")
        return scoped_any(qs, self.request.user, "host__customer", "cluster__customer")


class StatusEventViewSet(ReadOnlyViewSet):
    """Every observed state change, newest first; `since`/`until` bound the time."""

    serializer_class = s.StatusEventSerializer
    filterset_class = StatusEventFilter
    pagination_class = NewestFirstPagination

    def get_queryset(self):
        qs = StatusEvent.objects.select_related("host")
        return scoped(qs, self.request.user, "host__customer")

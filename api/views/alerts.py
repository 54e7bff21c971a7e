"""Alerts: list and detail (scoped), acknowledge and resolve through alerts' services."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.response import Response

from alerts.models import Alert
from alerts.services import AlertStateError, acknowledge_alert, resolve_alert
from api.access import AlertHandlers, scoped
from api.filters import AlertFilter
from api.pagination import NewestFirstPagination
from api.serializers.alerts import AcknowledgeSerializer, AlertSerializer, ResolveSerializer
from api.views.base import ReadOnlyViewSet
from nyiops.roles import is_staff_role


class AlertViewSet(ReadOnlyViewSet):
    serializer_class = AlertSerializer
    permission_classes = [AlertHandlers]
    filterset_class = AlertFilter
    pagination_class = NewestFirstPagination

    def get_queryset(self):
        qs = Alert.objects.select_related(
            "customer", "host", "cluster", "acknowledged_by", "resolved_by"
        )
        return scoped(qs, self.request.user)

    def get_serializer(self, *args, **kwargs):
        serializer = super().get_serializer(*args, **kwargs)
        if not is_staff_role(self.request.user):
            # A root cause may be another tenant's (or the provider's) alert: its id is not
            # for customers to see.
            child = getattr(serializer, "child", serializer)
            child.fields.pop("parent_id", None)
        return serializer

    def _alert(self, pk) -> Alert:
        # Scoped lookup first (another tenant's id: 404), then the role check (403).
        alert = get_object_or_404(self.get_queryset(), pk=pk)
        self.check_object_permissions(self.request, alert)
        return alert

    @extend_schema(request=AcknowledgeSerializer, responses={200: AlertSerializer})
    @action(detail=True, methods=["post"], url_path="ack")
    def acknowledge(self, request, pk=None):
        alert = self._alert(pk)
        body = AcknowledgeSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            acknowledge_alert(
                alert,
                by=request.user,
                note=body.validated_data["note"],
                eta_minutes=body.validated_data["eta_minutes"],
                via="api",
            )
        except AlertStateError as exc:
            return Response({"state": [str(exc)]}, status=status.HTTP_409_CONFLICT)
        alert.refresh_from_db()
        return Response(AlertSerializer(alert).data)

    @extend_schema(request=ResolveSerializer, responses={200: AlertSerializer})
    @action(detail=True, methods=["post"])
    def resolve(self, request, pk=None):
        alert = self._alert(pk)
        body = ResolveSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            resolve_alert(alert, by=request.user, note=body.validated_data["note"])
        except AlertStateError as exc:
            return Response({"state": [str(exc)]}, status=status.HTTP_409_CONFLICT)
        alert.refresh_from_db()
        return Response(AlertSerializer(alert).data)

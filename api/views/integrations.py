"""Alertmanager receivers: configuration (NOC) and the webhook endpoint itself."""

from django.db import transaction
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from alerts.choices import ChannelKind
from alerts.models import NotificationChannel
from api import alertmanager
from api.access import ApiUser, NocWrites
from api.models import AlertmanagerReceiver
from api.pagination import NewestFirstPagination
from api.serializers.integrations import (
    AlertmanagerPayloadSerializer,
    AlertmanagerReceiverSerializer,
    ReceivedSerializer,
)
from api.serializers.webhooks import DeliverySerializer, WebhookSerializer
from api.views.base import ApiViewMixin, InventoryViewSet
from audit.services import record
from nyiops.roles import is_staff_role


class StaffOnly(BasePermission):
    message = "NOC and on-call staff only."

    def has_permission(self, request, view):
        return is_staff_role(request.user)


class AlertmanagerReceiverViewSet(InventoryViewSet):
    """Where Alertmanager posts; NOC staff create them, customers see none."""

    serializer_class = AlertmanagerReceiverSerializer
    permission_classes = [NocWrites, StaffOnly]
    queryset = AlertmanagerReceiver.objects.select_related("customer")

    def perform_create(self, serializer):
        self._save_audited(serializer, "create")

    def perform_update(self, serializer):
        self._save_audited(serializer, "update")

    def _save_audited(self, serializer, action):
        with transaction.atomic():
            receiver = serializer.save()
            record(
                actor=self.request.user,
                action=f"api.alertmanager_receiver.{action}",
                target=receiver,
                after=dict(serializer.validated_data, customer=str(receiver.customer or "")),
            )


class AlertmanagerSender(ApiUser):
    """A staff token that may write (NOC or on-call): the one Alertmanager presents."""

    def has_permission(self, request, view):
        return super().has_permission(request, view) and is_staff_role(request.user)


class AlertmanagerWebhook(ApiViewMixin, APIView):
    """Alertmanager's webhook_config target (version 4 payload)."""

    permission_classes = [AlertmanagerSender]

    @extend_schema(
        request=AlertmanagerPayloadSerializer,
        responses={202: ReceivedSerializer},
        summary="Alertmanager webhook receiver",
    )
    def post(self, request, pk: int):
        receiver = get_object_or_404(AlertmanagerReceiver, pk=pk, enabled=True)
        body = AlertmanagerPayloadSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        got = alertmanager.receive(receiver, body.validated_data)
        data = {
            "firing": got.firing,
            "resolved": got.resolved,
            "matched_hosts": got.matched_hosts,
            "alerts_opened": got.sync.opened,
            "alerts_resolved": got.sync.resolved,
        }
        return Response(data, status=status.HTTP_202_ACCEPTED)


class WebhookViewSet(InventoryViewSet):
    """Outgoing event webhooks (shared webhook channels subscribed to event types); NOC
    staff manage them, customers see none. Delivery uses the alert channel machinery."""

    serializer_class = WebhookSerializer
    permission_classes = [NocWrites, StaffOnly]

    def get_queryset(self):
        return NotificationChannel.objects.filter(kind=ChannelKind.WEBHOOK, user__isnull=True)

    @extend_schema(responses={200: DeliverySerializer(many=True)})
    @action(detail=True, methods=["get"], pagination_class=NewestFirstPagination)
    def deliveries(self, request, pk=None):
        """The delivery log of this webhook: each event, its status and every attempt."""
        channel = get_object_or_404(self.get_queryset(), pk=pk)
        qs = channel.notifications.filter(alert__isnull=True).prefetch_related("attempts_log")
        page = self.paginate_queryset(qs)
        return self.get_paginated_response(DeliverySerializer(page, many=True).data)

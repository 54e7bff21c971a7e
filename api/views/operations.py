"""Operations (staff: read; NOC: plan, approve, cancel) and jail requests (customers: their
own, read and create; NOC: all, approve and reject), through the same services the web
pages call. Every write is audited by those services with the token's user."""

from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import SAFE_METHODS
from rest_framework.response import Response

from api.access import ApiUser, scoped
from api.pagination import NewestFirstPagination
from api.serializers.operations import (
    EmptySerializer,
    JailApproveSerializer,
    JailRejectSerializer,
    JailRequestCreateSerializer,
    JailRequestSerializer,
    OperationDetailSerializer,
    OperationSerializer,
    PlanSerializer,
)
from api.views.base import ApiViewMixin
from customers.models import JailRequest
from customers.scoping import customer_of, scope
from hosts.models import Jail
from nyiops.roles import is_noc, is_staff_role
from operations import services
from operations.models import Operation
from portal import jail_requests


def _request_id(request) -> str:
    return getattr(request, "request_id", "") or request.headers.get("X-Request-ID", "")[:64]


class OperationAccess(ApiUser):
    """Staff read; NOC staff write. A customer gets 403 on the list and on planning, and the
    same 404 as a missing id on an operation's routes (it sees no operation)."""

    def has_permission(self, request, view):
        if not super().has_permission(request, view):
            return False
        if view.kwargs.get("pk") is not None:
            return True  # judged after the lookup: customers see none (404)
        if not is_staff_role(request.user):
            self.message = "NOC and on-call staff only."
            return False
        if request.method not in SAFE_METHODS and not is_noc(request.user):
            self.message = "Only NOC staff may plan operations."
            return False
        return True

    def has_object_permission(self, request, view, obj):
        if request.method in SAFE_METHODS:
            return True
        self.message = "Only NOC staff may approve or cancel operations."
        return is_noc(request.user)


class OperationViewSet(
    ApiViewMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    permission_classes = [OperationAccess]
    pagination_class = NewestFirstPagination

    def get_queryset(self):
        if not is_staff_role(self.request.user):
            return Operation.objects.none()
        qs = Operation.objects.select_related("approved_by").order_by("-created_at", "-pk")
        if self.action == "retrieve":
            qs = qs.prefetch_related("steps__host", "events")
        return qs

    def get_serializer_class(self):
        return OperationDetailSerializer if self.action != "list" else OperationSerializer

    @extend_schema(request=PlanSerializer, responses={201: OperationDetailSerializer})
    def create(self, request):
        """Plan an operation (NOC): saved `planned`, or refused with the failed checks."""
        body = PlanSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        try:
            op = services.request_operation(
                data["kind"],
                data["target"],
                data["params"],
                by=request.user,
                reason=data["reason"],
                request_id=_request_id(request),
            )
        except KeyError:
            return Response({"kind": [f"No operation kind “{data['kind']}”."]}, status=400)
        except ValidationError as exc:
            errors = getattr(exc, "message_dict", None) or {"params": exc.messages}
            out = {}
            for field, messages in errors.items():
                name = field if field in ("kind", "target", "reason") else f"params.{field}"
                out[name if field != "__all__" else "non_field_errors"] = messages
            return Response(out, status=400)
        except services.PlanRefused as exc:
            return Response(
                {"non_field_errors": [str(exc)], "checks": exc.checks},
                status=status.HTTP_400_BAD_REQUEST,
            )
        return Response(OperationDetailSerializer(op).data, status=status.HTTP_201_CREATED)

    def _act(self, request, pk, do):
        op = get_object_or_404(self.get_queryset(), pk=pk)
        self.check_object_permissions(request, op)
        EmptySerializer(data=request.data or {}).is_valid(raise_exception=True)
        try:
            op = do(op)
        except services.OperationError as exc:
            if "second person" in str(exc):  # the service's four-eyes policy: a refusal
                return Response({"detail": str(exc)}, status=status.HTTP_403_FORBIDDEN)
            return Response({"state": [str(exc)]}, status=status.HTTP_409_CONFLICT)
        op = self.get_queryset().get(pk=op.pk)
        return Response(OperationDetailSerializer(op).data)

    @extend_schema(request=EmptySerializer, responses={200: OperationDetailSerializer})
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        """Approve (NOC): a kind that needs a second person refuses its requester (409)."""
        rid = _request_id(request)
        return self._act(
            request, pk, lambda op: services.approve(op, by=request.user, request_id=rid)
        )

    @extend_schema(request=EmptySerializer, responses={200: OperationDetailSerializer})
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        """Cancel before it runs (NOC)."""
        rid = _request_id(request)
        return self._act(
            request, pk, lambda op: services.cancel(op, by=request.user, request_id=rid)
        )


class JailRequestAccess(ApiUser):
    """Customers read and create their own requests; staff read all; NOC approve and
    reject. On an id: another tenant's is a 404, one's own a 403 for a customer."""

    def has_permission(self, request, view):
        if not super().has_permission(request, view):
            return False
        if request.method in SAFE_METHODS or view.kwargs.get("pk") is not None:
            return True
        self.message = "Only customer users request jails."
        return customer_of(request.user) is not None and not is_staff_role(request.user)

    def has_object_permission(self, request, view, obj):
        if request.method in SAFE_METHODS:
            return True
        self.message = "Only NOC staff may approve or reject jail requests."
        return is_noc(request.user)


class JailRequestViewSet(
    ApiViewMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    permission_classes = [JailRequestAccess]
    serializer_class = JailRequestSerializer
    pagination_class = NewestFirstPagination

    def get_queryset(self):
        qs = JailRequest.objects.select_related("customer", "host").order_by("-created_at", "-pk")
        return scoped(qs, self.request.user)

    @extend_schema(request=JailRequestCreateSerializer, responses={201: JailRequestSerializer})
    def create(self, request):
        """Ask for a jail (customer): refused wishes are 400 by field."""
        body = JailRequestCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = dict(body.validated_data)
        data["hostname"] = data["hostname"].lower().rstrip(".")
        twin_id = data.pop("twin_of", None)
        data["twin_of"] = None
        if twin_id is not None:
            jails = scope(Jail.objects.present(), request.user, field="host__customer")
            data["twin_of"] = jails.select_related("host").filter(pk=twin_id).first()
            if data["twin_of"] is None:
                return Response({"twin_of": ["Select a valid choice."]}, status=400)
        try:
            req = jail_requests.create(customer_of(request.user), request.user, data)
        except jail_requests.Refused as exc:
            return Response(_field_errors(exc), status=status.HTTP_400_BAD_REQUEST)
        return Response(JailRequestSerializer(req).data, status=status.HTTP_201_CREATED)

    def _decide(self, request, pk, body_class, do):
        req = get_object_or_404(self.get_queryset(), pk=pk)
        self.check_object_permissions(request, req)
        body = body_class(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            req = do(req, body.validated_data)
        except jail_requests.Refused as exc:
            return Response(_field_errors(exc), status=status.HTTP_400_BAD_REQUEST)
        return Response(JailRequestSerializer(self.get_queryset().get(pk=req.pk)).data)

    @extend_schema(request=JailApproveSerializer, responses={200: JailRequestSerializer})
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        """Approve (NOC), optionally on another of the customer's hosts."""
        return self._decide(
            request,
            pk,
            JailApproveSerializer,
            lambda req, d: jail_requests.approve(req.pk, request.user, host_id=d.get("host")),
        )

    @extend_schema(request=JailRejectSerializer, responses={200: JailRequestSerializer})
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        """Reject (NOC) with a reason the customer reads."""
        return self._decide(
            request,
            pk,
            JailRejectSerializer,
            lambda req, d: jail_requests.reject(req.pk, request.user, reason=d["reason"]),
        )


def _field_errors(exc: jail_requests.Refused) -> dict:
    return {
        ("non_field_errors" if field == "__all__" else field): [message]
        for field, message in exc.errors.items()
    }

"""Who may do what through the API, and which rows they see.

Rows: staff (NOC, on-call) see everything; a customer user sees its own company's rows only,
through the one tenancy path (`customers.scoping`); anyone else sees nothing. Another
tenant's id is then simply not in the queryset: 404, the same as an id that does not exist.
Actions: customers read; on-call staff also handle alerts; NOC staff also write inventory.
A read-only token refuses every unsafe method whoever its user is."""

from django.db.models import Q, QuerySet
from rest_framework.permissions import SAFE_METHODS, BasePermission

from api.models import ApiToken
from customers.scoping import customer_of, scope
from nyiops.roles import is_noc, is_oncall, is_staff_role


def scoped(queryset: QuerySet, user, field: str = "customer") -> QuerySet:
    if is_staff_role(user):
        return queryset
    return scope(queryset, user, field=field)


def scoped_any(queryset: QuerySet, user, *fields: str) -> QuerySet:
    """Like `scoped`, for rows that reach their customer by one of several paths (a finding
    belongs to a host or to a cluster)."""
    if is_staff_role(user):
        return queryset
    customer = customer_of(user)
    if customer is None:
        return queryset.none()
    match = Q()
    for field in fields:
        match |= Q(**{field: customer})
    return queryset.filter(match)


def _read_only_token(request) -> bool:
    return isinstance(request.auth, ApiToken) and request.auth.read_only


class ApiUser(BasePermission):
    """Staff or customer users; reads only, unless a stricter class below allows writes."""

    message = "API access needs a NOC, on-call or customer account."

    def has_permission(self, request, view):
        user = request.user
        if not (user and user.is_authenticated):
            return False
        if not (is_staff_role(user) or customer_of(user) is not None):
            return False
        if request.method in SAFE_METHODS:
            return True
        if _read_only_token(request):
            self.message = "This token is read-only."
            return False
        return True


class _RoleWrites(ApiUser):
    """Reads for every API user; writes for the roles `allowed` says. On a route with an id
    the write is judged per object, after the scoped lookup: another tenant's id is a 404
    (as for a read), one's own object a 403."""

    denied = ""

    def allowed(self, user) -> bool:
        raise NotImplementedError

    def has_permission(self, request, view):
        if not super().has_permission(request, view):
            return False
        if request.method in SAFE_METHODS or view.kwargs.get("pk") is not None:
            return True
        self.message = self.denied
        return self.allowed(request.user)

    def has_object_permission(self, request, view, obj):
        if request.method in SAFE_METHODS:
            return True
        self.message = self.denied
        return self.allowed(request.user)


class NocWrites(_RoleWrites):
    """Reads for every API user; writes for NOC staff only."""

    denied = "Only NOC staff may change this."

    def allowed(self, user) -> bool:
        return is_noc(user)


class AlertHandlers(_RoleWrites):
    """Reads for every API user; acknowledging and resolving for NOC and on-call staff."""

    denied = "Only NOC and on-call staff may handle alerts."

    def allowed(self, user) -> bool:
        return is_noc(user) or is_oncall(user)

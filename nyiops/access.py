"""View decorators for the two sides of the app: staff (NOC / On-call) and customers."""

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied

from customers.roles import is_noc, is_staff_role
from customers.scoping import customer_of


def staff_required(view):
    """NOC or On-call. A customer user gets 403, never a NOC page."""

    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not is_staff_role(request.user):
            raise PermissionDenied("NOC and on-call staff only")
        return view(request, *args, **kwargs)

    return wrapper


def noc_required(view):
    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not is_noc(request.user):
            raise PermissionDenied("NOC staff only")
        return view(request, *args, **kwargs)

    return wrapper


def customer_required(view):
    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if customer_of(request.user) is None:
            raise PermissionDenied("customer portal users only")
        return view(request, *args, **kwargs)

    return wrapper

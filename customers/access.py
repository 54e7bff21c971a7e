"""The portal's view decorator: customer users only (a user with a tenant Membership).
Querysets are still scoped per view through customers.scoping; this only gates the door."""

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied

from customers.scoping import customer_of


def customer_required(view):
    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if customer_of(request.user) is None:
            raise PermissionDenied("customer portal users only")
        return view(request, *args, **kwargs)

    return wrapper

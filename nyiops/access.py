"""View decorators for staff pages (NOC / On-call). The customer side's decorator,
`customer_required`, lives in customers/access.py: this module imports no app."""

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied

from nyiops.roles import is_noc, is_staff_role


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

"""Step-up re-authentication for approving risky kinds (RELIABILITY D7): password and a
second-factor code entered within NYIOPS_REAUTH_MINUTES (nyiops.reauth), for the kinds in
NYIOPS_STEP_UP_KINDS (CARP maintenance, pf push, mirror clone).

Must not: decide anything else about approval (operations.services does)."""

from __future__ import annotations

from functools import wraps

from django.conf import settings
from django.shortcuts import get_object_or_404

from nyiops.reauth import has_recent_auth, step_up_redirect
from operations.models import Operation


def needs_step_up(kind: str) -> bool:
    return kind in settings.NYIOPS_STEP_UP_KINDS


def recent_auth_for_risky_kinds(view):
    """Approving a kind that needs step-up sends the person to re-authenticate first; the
    approval itself is not carried out by that request (they submit it again)."""

    @wraps(view)
    def wrapper(request, pk, *args, **kwargs):
        op = get_object_or_404(Operation, pk=pk)
        if needs_step_up(op.kind) and not has_recent_auth(request):
            return step_up_redirect(request)
        return view(request, pk, *args, **kwargs)

    return wrapper

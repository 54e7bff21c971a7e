"""Step-up re-authentication for approving risky kinds (RELIABILITY D7): a recent login.

HOOK POINT: `harden-auth` provides the project-wide step-up decorator in nyiops/. Until it
lands, this interim check reads the user's last login (≤ NYIOPS_STEP_UP_MINUTES); swap the
body of `recent_login_required` for theirs and keep the kinds list here.

Must not: decide anything else about approval (operations.services does)."""

from __future__ import annotations

from datetime import timedelta
from functools import wraps

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.contrib.auth.views import redirect_to_login
from django.shortcuts import get_object_or_404
from django.utils import timezone

from operations.models import Operation


def needs_step_up(kind: str) -> bool:
    return kind in settings.NYIOPS_STEP_UP_KINDS


def is_recent(user) -> bool:
    window = timedelta(minutes=settings.NYIOPS_STEP_UP_MINUTES)
    return user.last_login is not None and timezone.now() - user.last_login <= window


def recent_login_required(view):
    @wraps(view)
    def wrapper(request, pk, *args, **kwargs):
        op = get_object_or_404(Operation, pk=pk)
        if needs_step_up(op.kind) and not is_recent(request.user):
            messages.error(request, f"Approving {op.kind} needs a recent login: sign in again.")
            return redirect_to_login(
                request.build_absolute_uri(f"/operations/{op.pk}/"),
                redirect_field_name=REDIRECT_FIELD_NAME,
            )
        return view(request, pk, *args, **kwargs)

    return wrapper

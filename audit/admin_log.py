"""Every add, change and delete made in the Django admin becomes an AuditRecord.

The admin already calls three documented hooks for its own LogEntry (`log_addition`,
`log_change`, `log_deletions`, on every ModelAdmin including those of third-party apps:
users, groups, lockouts, 2FA devices). `install()` wraps them once, at start-up, so no admin
class can be added without being audited. It records what the admin itself logs (who, which
object, which fields changed) with the request id; it must never record field values, which
can be secrets (keys, webhook secrets, password hashes)."""

import json

from django.contrib.admin import ModelAdmin

from audit.services import record

_INSTALLED = "_nyiops_audited"


def _text(message) -> str:
    if isinstance(message, list):
        return json.dumps(message)
    return str(message or "")


def _audit(request, action: str, obj, message="") -> None:
    record(actor=request.user, action=action, target=obj, message=_text(message))


def install() -> None:
    if getattr(ModelAdmin, _INSTALLED, False):
        return
    log_addition, log_change, log_deletions = (
        ModelAdmin.log_addition,
        ModelAdmin.log_change,
        ModelAdmin.log_deletions,
    )

    def audited_addition(self, request, obj, message):
        _audit(request, "admin.add", obj, message)
        return log_addition(self, request, obj, message)

    def audited_change(self, request, obj, message):
        _audit(request, "admin.change", obj, message)
        return log_change(self, request, obj, message)

    def audited_deletions(self, request, queryset):
        # Called before the rows go, so each record still names its object.
        for obj in queryset:
            _audit(request, "admin.delete", obj)
        return log_deletions(self, request, queryset)

    ModelAdmin.log_addition = audited_addition
    ModelAdmin.log_change = audited_change
    ModelAdmin.log_deletions = audited_deletions
    setattr(ModelAdmin, _INSTALLED, True)

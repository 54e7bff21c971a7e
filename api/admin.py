"""Admin: tokens and receivers can be looked at and revoked, never read back or forged."""

from django.contrib import admin

from api.models import AlertmanagerReceiver, ApiToken


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = [
        "prefix",
        "user",
        "name",
        "read_only",
        "created_at",
        "expires_at",
        "last_used_at",
        "revoked_at",
    ]
    list_filter = ["read_only"]
    search_fields = ["prefix", "name", "user__username"]
    readonly_fields = [f.name for f in ApiToken._meta.fields]
    exclude = ["secret_sha256"]

    def has_add_permission(self, request):
        return False  # made on /account/tokens/ or by manage.py api_tokens (shown once)

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(AlertmanagerReceiver)
class AlertmanagerReceiverAdmin(admin.ModelAdmin):
    list_display = ["name", "enabled", "customer", "default_severity", "last_received_at"]

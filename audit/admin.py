"""Read-only admin for audit records."""

from django.contrib import admin

from audit.models import AuditRecord


@admin.register(AuditRecord)
class AuditRecordAdmin(admin.ModelAdmin):
    list_display = ("at", "actor_name", "action", "target_label", "message")
    list_filter = ("action", "target_type")
    search_fields = ("actor_name", "action", "target_label", "message", "request_id")
    date_hierarchy = "at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

"""Read-only admin views of operations: every change goes through operations.services (and
is audited there), never through the admin."""

from django.contrib import admin

from operations.models import Operation, OperationEvent, OperationLock, OperationStep


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class StepInline(admin.TabularInline):
    model = OperationStep
    fields = ["position", "phase", "key", "host", "script", "state", "exit_status", "duration_ms"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Operation)
class OperationAdmin(ReadOnly):
    list_display = ["pk", "kind", "target_label", "state", "requested_by_name", "created_at"]
    list_filter = ["state", "kind"]
    search_fields = ["target_label", "requested_by_name", "result"]
    inlines = [StepInline]


@admin.register(OperationEvent)
class OperationEventAdmin(ReadOnly):
    list_display = ["operation", "at", "kind", "message"]


@admin.register(OperationLock)
class OperationLockAdmin(ReadOnly):
    list_display = ["scope", "operation", "token", "acquired_at", "lease_until"]

"""Django admin for alerts, schedules, channels and maintenance windows."""

from django import forms
from django.contrib import admin

from alerts.models import (
    Alert,
    AlertEvent,
    EscalationPolicy,
    EscalationStep,
    MaintenanceWindow,
    Notification,
    NotificationChannel,
    OnCallSchedule,
    RoutingRule,
    ScheduleMember,
    ScheduleOverride,
)


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class AlertEventInline(ReadOnlyInline):
    model = AlertEvent
    fields = ("at", "kind", "actor", "text")


class NotificationInline(ReadOnlyInline):
    model = Notification
    fields = ("generation", "step", "channel", "status", "attempts", "sent_at", "last_error")


@admin.register(Alert)
class AlertAdmin(admin.ModelAdmin):
    """Read-only: alerts change through the services (pages, command, sync), never here."""

    list_display = ("pk", "state", "severity", "kind", "subject", "opened_at", "parent")
    list_filter = ("state", "severity", "kind", "suppressed")
    search_fields = ("subject", "message", "dedup_key")
    inlines = [AlertEventInline, NotificationInline]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ScheduleMemberInline(admin.TabularInline):
    model = ScheduleMember
    extra = 0


class ScheduleOverrideInline(admin.TabularInline):
    model = ScheduleOverride
    fk_name = "schedule"
    extra = 0


@admin.register(OnCallSchedule)
class OnCallScheduleAdmin(admin.ModelAdmin):
    list_display = ("name", "timezone", "start_date", "handoff_time", "rotation_days")
    inlines = [ScheduleMemberInline, ScheduleOverrideInline]


class EscalationStepInline(admin.TabularInline):
    model = EscalationStep
    extra = 0


@admin.register(EscalationPolicy)
class EscalationPolicyAdmin(admin.ModelAdmin):
    list_display = ("name", "is_default", "repeat", "max_pages_per_hour")
    inlines = [EscalationStepInline]


admin.site.register(RoutingRule)


class NotificationChannelForm(forms.ModelForm):
    # Write-only like SSH private keys: the stored secret is never rendered into the page.
    secret = forms.CharField(
        widget=forms.PasswordInput(attrs={"autocomplete": "off"}, render_value=False),
        required=False,
        help_text="HMAC key for webhook signatures. Leave empty to keep the current secret.",
    )
    clear_secret = forms.BooleanField(required=False, help_text="Remove the stored secret.")
    url = forms.URLField(required=False, assume_scheme="https")

    class Meta:
        model = NotificationChannel
        fields = ("user", "name", "kind", "email", "url", "secret", "enabled")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.initial["secret"] = ""

    def clean_secret(self):
        value = self.cleaned_data["secret"]
        if value:
            return value
        return self.instance.secret if self.instance.pk else None

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("clear_secret"):
            cleaned["secret"] = None
        return cleaned


@admin.register(NotificationChannel)
class NotificationChannelAdmin(admin.ModelAdmin):
    form = NotificationChannelForm
    list_display = ("name", "kind", "user", "enabled", "last_error")
    readonly_fields = ("last_error",)


@admin.register(MaintenanceWindow)
class MaintenanceWindowAdmin(admin.ModelAdmin):
    list_display = ("target_label", "reason", "starts_at", "ends_at", "silence", "created_by")
    list_filter = ("silence",)

"""Django admin for customers and their memberships."""

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from customers.models import Customer, JailRequest, Membership
from nyiops.reauth import StepUpAdminMixin, require_step_up_in_admin

# Who may log in and with what rights: changing any of it in the admin needs a password and
# code entered within the re-auth window (RELIABILITY §3.3). Registered by the apps above
# this one in INSTALLED_APPS, so already in the registry here.
require_step_up_in_admin(admin.site, [get_user_model(), Group, TOTPDevice, StaticDevice])


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "sla_tier", "require_2fa")
    list_filter = ("sla_tier", "require_2fa")
    search_fields = ("name", "slug", "notes")
    prepopulated_fields = {"slug": ("name",)}
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(StepUpAdminMixin, admin.ModelAdmin):
    list_display = ("user", "customer", "role")
    list_filter = ("role", "customer")
    search_fields = ("user__username", "customer__name")
    autocomplete_fields = ["user", "customer"]


@admin.register(JailRequest)
class JailRequestAdmin(admin.ModelAdmin):
    """Read-only: requests move through the queue and the services (audited), never by an
    edit here."""

    list_display = ("name", "customer", "purpose", "ip", "host", "status", "created_at")
    list_filter = ("status", "purpose", "customer")
    search_fields = ("name", "hostname", "ip", "customer__name")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

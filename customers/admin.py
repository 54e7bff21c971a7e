from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from customers.models import Customer, Membership
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

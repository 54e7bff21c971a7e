"""Django admin for customers and their memberships."""

from django.contrib import admin

from customers.models import Customer, JailRequest, Membership


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "sla_tier")
    list_filter = ("sla_tier",)
    search_fields = ("name", "slug", "notes")
    prepopulated_fields = {"slug": ("name",)}
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
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

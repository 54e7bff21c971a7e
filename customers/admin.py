from django.contrib import admin

from customers.models import Customer, Membership


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
class MembershipAdmin(admin.ModelAdmin):
    list_display = ("user", "customer", "role")
    list_filter = ("role", "customer")
    search_fields = ("user__username", "customer__name")
    autocomplete_fields = ["user", "customer"]

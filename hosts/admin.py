"""Django admin for the inventory (sites, credentials, hosts, clusters, backup jobs).
Must not: edit observed state, which only polling writes."""

from django import forms
from django.contrib import admin

from hosts.models import BackupJob, Cluster, ClusterMember, Host, Site, SSHCredential


@admin.register(Site)
class SiteAdmin(admin.ModelAdmin):
    list_display = ("name", "slug")
    search_fields = ("name", "slug")


class SSHCredentialForm(forms.ModelForm):
    # Write-only: the stored key is never rendered back into the page.
    private_key = forms.CharField(
        widget=forms.Textarea(attrs={"autocomplete": "off"}),
        required=False,
        help_text=(
            "Paste an unencrypted OpenSSH or PEM private key. Leave empty to keep the current key."
        ),
    )

    class Meta:
        model = SSHCredential
        fields = ("name", "username", "private_key")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.initial["private_key"] = ""
        if not self.instance.pk:
            self.fields["private_key"].required = True

    def clean_private_key(self):
        value = self.cleaned_data["private_key"]
        return value or (self.instance.private_key if self.instance.pk else value)


@admin.register(SSHCredential)
class SSHCredentialAdmin(admin.ModelAdmin):
    form = SSHCredentialForm
    list_display = ("name", "username", "fingerprint", "created_at")
    search_fields = ("name", "username")
    readonly_fields = ("public_key", "fingerprint")


class ClusterMemberInline(admin.TabularInline):
    model = ClusterMember
    extra = 0
    autocomplete_fields = ["host"]


@admin.register(Host)
class HostAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "address",
        "ssh_port",
        "customer",
        "site",
        "enabled",
        "reachability",
        "last_poll_at",
    )
    list_filter = ("enabled", "reachability", "site", "customer")
    search_fields = ("name", "address", "customer__name")
    autocomplete_fields = ["customer", "site", "credential"]
    # The pinned key changes only through the audited approval flow (host page with a
    # step-up re-auth, or `manage.py approve_hostkey`), never by editing a field here.
    readonly_fields = (
        "host_key_type",
        "host_key_base64",
        "host_key_fingerprint",
        "host_key_approved_at",
        "host_key_approved_by",
        "offered_key_type",
        "offered_key_fingerprint",
        "offered_key_seen_at",
        "next_poll_at",
        "reachability",
        "reachability_reason",
        "last_poll_at",
        "last_success_at",
        "last_poll_duration_ms",
    )
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "name",
                    "address",
                    "ssh_port",
                    "ssh_user",
                    "credential",
                    "roles",
                    "customer",
                    "site",
                    "enabled",
                    "poll_interval",
                )
            },
        ),
        (
            "Host key",
            {
                "fields": (
                    "host_key_type",
                    "host_key_base64",
                    "host_key_fingerprint",
                    "host_key_approved_at",
                    "host_key_approved_by",
                    "offered_key_type",
                    "offered_key_fingerprint",
                    "offered_key_seen_at",
                )
            },
        ),
        (
            "Polling",
            {
                "fields": (
                    "next_poll_at",
                    "reachability",
                    "reachability_reason",
                    "last_poll_at",
                    "last_success_at",
                    "last_poll_duration_ms",
                )
            },
        ),
    )


@admin.register(Cluster)
class ClusterAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "customer")
    list_filter = ("kind", "customer")
    search_fields = ("name", "description", "members__host__name")
    autocomplete_fields = ["customer"]
    inlines = [ClusterMemberInline]


@admin.register(BackupJob)
class BackupJobAdmin(admin.ModelAdmin):
    list_display = ("name", "source", "target", "dataset", "schedule_minutes")
    list_filter = ("target",)
    search_fields = ("name", "source__name", "target__name", "dataset")
    autocomplete_fields = ["source", "target"]

"""One-click acknowledge links: one row per link sent, the secret kept only as a hash."""

from django.conf import settings
from django.db import models

from alerts.models.alerts import Alert


class AckLink(models.Model):
    """A link in one page to one person. The URL path carries only `public_id`; the secret
    travels in the URL fragment, which browsers never send (so it is in no access log), and
    comes back in the POST body. `used_at` makes it single-use."""

    public_id = models.CharField(max_length=24, unique=True)
    token_hash = models.CharField(max_length=64)
    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="ack_links")
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(db_index=True)
    used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"ack link {self.public_id} for #{self.alert_id} to {self.recipient_id}"

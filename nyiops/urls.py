"""The root URLconf: mounts each app's URLs by dotted path (include strings), so nyiops
imports no app."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django_otp.admin import OTPAdminSite

from nyiops import reauth, twofactor, views

# The admin asks for a verified second factor too (D7); RequireVerifiedMiddleware sends an
# unverified session to the verify page before the admin's own check is ever reached.
admin.site.__class__ = OTPAdminSite

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("account/2fa/verify/", twofactor.verify, name="otp-verify"),
    path("account/2fa/setup/", twofactor.setup, name="otp-setup"),
    path("account/reauth/", reauth.reauth, name="reauth"),
    path("healthz", views.healthz, name="healthz"),
    # Worker liveness reads the canaries' heartbeats, which live with the alerts' dead-man
    # checks; included by name so nyiops imports no app.
    path("healthz/", include("alerts.health_urls")),
    path("hosts/", include("hosts.urls")),
    path("alerts/", include("alerts.urls")),
    path("operations/", include("operations.urls")),
    path("portal/", include("portal.urls")),
    path("noc/jail-requests/", include("portal.noc_urls")),
    path("api/", include("api.urls")),
    # /metrics and /account/tokens/ live at the root but belong to the api app.
    path("", include("api.root_urls")),
    path("admin/", admin.site.urls),
]

handler500 = "nyiops.outage.server_error"

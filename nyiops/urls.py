"""The root URLconf: mounts each app's URLs by dotted path (include strings), so nyiops
imports no app."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from nyiops import views

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("healthz", views.healthz, name="healthz"),
    path("hosts/", include("hosts.urls")),
    path("alerts/", include("alerts.urls")),
    path("operations/", include("operations.urls")),
    path("portal/", include("portal.urls")),
    path("noc/jail-requests/", include("portal.noc_urls")),
    path("admin/", admin.site.urls),
]

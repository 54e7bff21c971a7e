from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from nyiops import views

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("healthz", views.healthz, name="healthz"),
    # Worker liveness reads the canaries' heartbeats, which live with the alerts' dead-man
    # checks; included by name so nyiops imports no app.
    path("healthz/", include("alerts.health_urls")),
    path("hosts/", include("hosts.urls")),
    path("alerts/", include("alerts.urls")),
    path("portal/", include("customers.urls")),
    path("admin/", admin.site.urls),
]

handler500 = "nyiops.outage.server_error"

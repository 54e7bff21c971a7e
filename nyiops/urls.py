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
    path("portal/", include("customers.urls")),
    path("api/", include("api.urls")),
    # /metrics and /account/tokens/ live at the root but belong to the api app.
    path("", include("api.root_urls")),
    path("admin/", admin.site.urls),
]

"""The customer portal's URLs (namespace `customers`)."""

from django.urls import path

from customers import views

app_name = "customers"

urlpatterns = [
    path("", views.portal, name="portal"),
    path("hosts/<int:host_id>/", views.host_detail, name="host"),
]

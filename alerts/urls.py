"""The alert pages' URLs (namespace `alerts`)."""

from django.urls import path

from alerts import views

app_name = "alerts"

urlpatterns = [
    path("", views.alert_list, name="list"),
    path("oncall/", views.oncall_page, name="oncall"),
    path("partials/open/", views.open_partial, name="open-partial"),
    path("bulk-ack/", views.bulk_ack, name="bulk-ack"),
    path("ack/<str:public_id>/", views.ack_link, name="ack-link"),
    path("<int:pk>/", views.alert_detail, name="detail"),
    path("<int:pk>/ack/", views.ack, name="ack"),
    path("<int:pk>/resolve/", views.resolve, name="resolve"),
]

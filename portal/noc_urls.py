"""URLs of the NOC's jail-request approval queue (namespace `jailqueue`)."""

from django.urls import path

from portal import noc_views

app_name = "jailqueue"

urlpatterns = [
    path("", noc_views.queue, name="list"),
    path("<int:request_id>/approve/", noc_views.approve, name="approve"),
    path("<int:request_id>/reject/", noc_views.reject, name="reject"),
]

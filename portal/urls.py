"""The customer portal's URLs (namespace `customers`): pages, live widgets, jail requests,
self-service jail actions and the customer admin's team page."""

from django.urls import path

from portal import views

app_name = "customers"

urlpatterns = [
    path("", views.portal, name="portal"),
    # One URL per live widget of the portal (portal.widgets.WIDGETS), written out to grep.
    path("live/services/", views.widget, {"name": "services"}, name="widget-services"),
    path("live/jails/", views.widget, {"name": "jails"}, name="widget-jails"),
    path("live/backups/", views.widget, {"name": "backups"}, name="widget-backups"),
    path("live/incidents/", views.widget, {"name": "incidents"}, name="widget-incidents"),
    path("live/requests/", views.widget, {"name": "requests"}, name="widget-requests"),
    path("hosts/<int:host_id>/", views.host_detail, name="host"),
    path("requests/new/", views.request_new, name="request-new"),
    path("requests/<int:request_id>/", views.request_detail, name="request"),
    path("requests/<int:request_id>/live/", views.request_status, name="request-status"),
    path("requests/<int:request_id>/cancel/", views.request_cancel, name="request-cancel"),
    path("jails/<int:jail_id>/action/", views.jail_action, name="jail-action"),
    path("jails/<int:jail_id>/destroy/", views.jail_destroy, name="jail-destroy"),
    path("jails/<int:jail_id>/resize/", views.jail_resize, name="jail-resize"),
    path("team/", views.team_page, name="team"),
    path("team/<int:user_id>/remove/", views.team_remove, name="team-remove"),
    path("welcome/<uidb64>/<token>/", views.Welcome.as_view(), name="welcome"),
]

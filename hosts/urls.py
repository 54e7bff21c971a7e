"""The NOC pages' URLs (namespace `hosts`). Every name is written out so it can be grepped."""

from django.urls import path

from hosts import views

app_name = "hosts"

urlpatterns = [
    path("", views.overview, name="overview"),
    path("inventory/", views.inventory, name="inventory"),
    path("search/", views.search, name="search"),
    # One URL per live widget of the overview, spelled out so each name can be grepped;
    # views.WIDGETS holds what each renders (the dashboard tests reverse one per entry).
    path("live/findings/", views.widget, {"name": "findings"}, name="widget-findings"),
    path("live/firewalls/", views.widget, {"name": "firewalls"}, name="widget-firewalls"),
    path(
        "live/loadbalancers/", views.widget, {"name": "loadbalancers"}, name="widget-loadbalancers"
    ),
    path("live/jailservices/", views.widget, {"name": "jailservices"}, name="widget-jailservices"),
    path("live/storage/", views.widget, {"name": "storage"}, name="widget-storage"),
    path("live/backups/", views.widget, {"name": "backups"}, name="widget-backups"),
    path("live/hosts/", views.widget, {"name": "hosts"}, name="widget-hosts"),
    path("clusters/<int:cluster_id>/", views.cluster, name="cluster"),
    path("clusters/<int:cluster_id>/live/", views.cluster_health, name="cluster-health"),
    path("host/<int:host_id>/", views.host, name="host"),
    path("host/<int:host_id>/live/", views.host_status, name="host-status"),
    path("host/<int:host_id>/host-key/", views.host_key, name="host-key"),
    path("mirrors/<int:mirror_id>/", views.mirror, name="mirror"),
    path("pools/<int:pool_id>/", views.pool, name="pool"),
    path("backends/<int:backend_id>/", views.backend, name="backend"),
    path("backups/<int:job_id>/", views.backup_job, name="backup-job"),
    path("customers/<int:customer_id>/", views.customer, name="customer"),
]

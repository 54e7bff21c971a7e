from django.urls import path

from hosts import views

app_name = "hosts"

urlpatterns = [
    path("", views.overview, name="overview"),
    path("inventory/", views.inventory, name="inventory"),
    path("search/", views.search, name="search"),
    # One URL per live widget of the overview (hosts:widget-findings, ...).
    *(
        path(f"live/{name}/", views.widget, {"name": name}, name=f"widget-{name}")
        for name in views.WIDGETS
    ),
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

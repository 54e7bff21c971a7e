"""/api/ routes. Ids in paths are `<int:pk>` (router with path converters), so the tenancy
walker can find and test every id-bearing route."""

from django.urls import path, re_path
from drf_spectacular.views import SpectacularAPIView
from rest_framework.routers import DefaultRouter

from api import errors
from api.views import alerts, docs, integrations, inventory, operations, state

app_name = "api"

router = DefaultRouter(use_regex_path=False)
router.include_format_suffixes = False
router.register("customers", inventory.CustomerViewSet, basename="customer")
router.register("sites", inventory.SiteViewSet, basename="site")
router.register("hosts", inventory.HostViewSet, basename="host")
router.register("clusters", inventory.ClusterViewSet, basename="cluster")
router.register("backup-jobs", inventory.BackupJobViewSet, basename="backup-job")
router.register("cluster-health", state.ClusterHealthViewSet, basename="cluster-health")
router.register("vhids", state.VhidViewSet, basename="vhid")
router.register("pools", state.ZPoolViewSet, basename="pool")
router.register("mirrors", state.MirrorViewSet, basename="mirror")
router.register("jails", state.JailViewSet, basename="jail")
router.register("backends", state.BackendViewSet, basename="backend")
router.register("backup-runs", state.BackupRunViewSet, basename="backup-run")
router.register("findings", state.FindingViewSet, basename="finding")
router.register("events", state.StatusEventViewSet, basename="event")
router.register("alerts", alerts.AlertViewSet, basename="alert")
router.register("operations", operations.OperationViewSet, basename="operation")
router.register("jail-requests", operations.JailRequestViewSet, basename="jail-request")
router.register("webhooks", integrations.WebhookViewSet, basename="webhook")
router.register(
    "integrations/alertmanager-receivers",
    integrations.AlertmanagerReceiverViewSet,
    basename="alertmanager-receiver",
)

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", docs.docs, name="docs"),
    path(
        "integrations/alertmanager/<int:pk>/",
        integrations.AlertmanagerWebhook.as_view(),
        name="alertmanager",
    ),
    *router.urls,
    # Anything else under /api/ (a malformed id, a typo) is a JSON 404, never an HTML page.
    re_path(r"^.*$", errors.not_found, name="not-found"),
]

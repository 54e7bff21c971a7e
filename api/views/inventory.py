"""Inventory resources: customers, sites, hosts, clusters, backup jobs. Read for every API
user (scoped), create and update for NOC staff through the inventory import."""

from api.access import NocWrites, scoped
from api.filters import BackupJobFilter, ClusterFilter, HostFilter
from api.serializers.inventory import (
    BackupJobSerializer,
    ClusterSerializer,
    CustomerSerializer,
    HostSerializer,
    SiteSerializer,
)
from api.views.base import InventoryViewSet
from customers.models import Customer
from hosts.models import BackupJob, Cluster, Host, Site


class CustomerViewSet(InventoryViewSet):
    serializer_class = CustomerSerializer
    permission_classes = [NocWrites]
    filterset_fields = ["slug", "sla_tier"]

    def get_queryset(self):
        return scoped(Customer.objects.all(), self.request.user)


class SiteViewSet(InventoryViewSet):
    serializer_class = SiteSerializer
    permission_classes = [NocWrites]
    filterset_fields = ["slug"]

    def get_queryset(self):
        # A customer sees the sites its hosts are in.
        return scoped(Site.objects.all(), self.request.user, "hosts__customer").distinct()


class HostViewSet(InventoryViewSet):
    serializer_class = HostSerializer
    permission_classes = [NocWrites]
    filterset_class = HostFilter

    def get_queryset(self):
        qs = Host.objects.select_related("customer", "site", "credential")
        return scoped(qs, self.request.user)


class ClusterViewSet(InventoryViewSet):
    serializer_class = ClusterSerializer
    permission_classes = [NocWrites]
    filterset_class = ClusterFilter

    def get_queryset(self):
        qs = Cluster.objects.select_related("customer").prefetch_related("members__host")
        return scoped(qs, self.request.user)


class BackupJobViewSet(InventoryViewSet):
    serializer_class = BackupJobSerializer
    permission_classes = [NocWrites]
    filterset_class = BackupJobFilter

    def get_queryset(self):
        qs = BackupJob.objects.select_related("source__customer", "target")
        return scoped(qs, self.request.user, "source__customer")

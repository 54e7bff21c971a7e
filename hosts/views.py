from django.db.models import Count
from django.shortcuts import render
from django.views.decorators.http import require_GET

from hosts.models import Cluster, Host
from nyiops.access import staff_required


@staff_required
@require_GET
def inventory(request):
    hosts = Host.objects.select_related("customer", "site").order_by("name")
    clusters = (
        Cluster.objects.select_related("customer")
        .prefetch_related("members__host")
        .annotate(member_count=Count("members"))
    )
    return render(request, "hosts/inventory.html", {"hosts": hosts, "clusters": clusters})

"""The customer portal. Every queryset here goes through customers.scoping.scope()."""

from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from customers.access import customer_required
from customers.scoping import customer_of, scope
from hosts.models import Cluster, Host


@customer_required
@require_GET
def portal(request):
    return render(
        request,
        "customers/portal.html",
        {
            "customer": customer_of(request.user),
            "hosts": scope(Host.objects.all(), request.user),
            "clusters": scope(Cluster.objects.all(), request.user).prefetch_related(
                "members__host"
            ),
        },
    )


@customer_required
@require_GET
def host_detail(request, host_id: int):
    host = get_object_or_404(scope(Host.objects.all(), request.user), pk=host_id)
    return render(request, "customers/host_detail.html", {"host": host})

"""NOC pages: the overview with its live widgets, search, and the drill-downs.

Every view is staff-only (customers get 403) and GET views never write. A widget's partial
view and the overview share one context function from `hosts.dashboard`, so the page and its
refresh cannot drift apart; both take the widget, data and rendered partial, from the
dashboard cache (hosts/dashboard/cache.py), computed once per generation and epoch for every
viewer, so an unchanged refresh costs the generation's one query and a 204."""

from functools import partial

from django.apps import apps
from django.contrib import messages
from django.db.models import Count
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from customers.models import Customer
from hosts.choices import ClusterKind
from hosts.dashboard import cache as dashboard_cache
from hosts.dashboard import detail, generation
from hosts.dashboard.backups import backups as backups_widget
from hosts.dashboard.clusters import clusters as clusters_widget
from hosts.dashboard.common import Filters, filter_options, parse_filters
from hosts.dashboard.findings import findings as findings_widget
from hosts.dashboard.hosts import hosts_attention
from hosts.dashboard.search import search as search_results
from hosts.dashboard.storage import storage as storage_widget
from hosts.inventory import services
from hosts.models import BackupJob, Cluster, HaproxyBackend, Host, Mirror, ZPool
from nyiops.access import noc_required, staff_required
from nyiops.htmx import VERSION_HEADER, is_partial, unchanged
from nyiops.reauth import recent_auth_required

# name -> (context function (filters, *, known=version) -> dict, partial template, seconds)
WIDGETS = {
    "findings": (findings_widget, "hosts/partials/findings.html", 10),
    "firewalls": (
        partial(clusters_widget, kind=ClusterKind.FIREWALL),
        "hosts/partials/clusters.html",
        10,
    ),
    "loadbalancers": (
        partial(clusters_widget, kind=ClusterKind.LOADBALANCER),
        "hosts/partials/clusters.html",
        15,
    ),
    "jailservices": (
        partial(clusters_widget, kind=ClusterKind.JAIL_SERVICE),
        "hosts/partials/clusters.html",
        30,
    ),
    "storage": (storage_widget, "hosts/partials/storage.html", 30),
    "backups": (backups_widget, "hosts/partials/backups.html", 60),
    "hosts": (hosts_attention, "hosts/partials/hosts.html", 15),
}


def widget_context(name: str, filters: Filters, known: str | None = None) -> dict:
    func, template, every = WIDGETS[name]
    qs = filters.querystring()
    return {
        # `known` lets a widget say "unchanged" before building its views.
        "w": func(filters, known=known),
        "widget": name,
        "widget_url": reverse(f"hosts:widget-{name}") + (f"?{qs}" if qs else ""),
        "every": every,
        "template": template,
    }


def page_flags() -> dict:
    # The alerts app lands separately: link to it only once it is installed.
    return {"alerts_enabled": apps.is_installed("alerts")}


def _latest(name: str, filters: Filters) -> tuple:
    # This process's last (context, partial) of a widget: what a new generation may reuse.
    return ("latest", name, filters.querystring())


def _fresh_context(name: str, filters: Filters) -> dict:
    """A widget's context for a new generation. A change elsewhere in the fleet (another
    widget's) leaves its content as it was: then the last entry, and its rendered partial,
    are kept (the cluster widgets find that out before building any view)."""
    last = dashboard_cache.LOCAL.get(_latest(name, filters))
    known = last[0]["w"]["version"] if last else None
    ctx = widget_context(name, filters, known=known)
    if last and (ctx["w"].get("unchanged") or ctx["w"]["version"] == known):
        return last[0]
    return ctx


def cached_context(name: str, filters: Filters, gen: int) -> dict:
    """One widget's context, computed once per generation and epoch for every viewer."""
    key = dashboard_cache.key(name, filters, gen)
    return dashboard_cache.remember(key, lambda: _fresh_context(name, filters))


def cached_html(name: str, filters: Filters, gen: int) -> str:
    """One widget's rendered partial, once per generation and epoch. It renders without the
    request: a partial shows nothing personal (no user, no CSRF token), which is what makes
    it shareable between viewers."""
    ctx = cached_context(name, filters, gen)
    last = dashboard_cache.LOCAL.get(_latest(name, filters))
    if last and last[0] is ctx:
        html = last[1]  # the same entry as the last one: the same partial
    else:
        html = dashboard_cache.remember(
            dashboard_cache.key(name, filters, gen) + ":html",
            lambda: render_to_string(
                ctx["template"], {"c": ctx, "filters": filters, **page_flags()}
            ),
        )
    dashboard_cache.LOCAL.put(_latest(name, filters), (ctx, html))
    return html


@staff_required
@require_GET
def overview(request):
    filters = parse_filters(request.GET)
    gens = generation.by_topic()
    widgets = {name: cached_html(name, filters, gens[name]) for name in WIDGETS}
    return render(
        request,
        "hosts/overview.html",
        {
            "filters": filters,
            # Customers and sites bump every topic when edited: cached like the widgets.
            "options": dashboard_cache.remember(
                dashboard_cache.key("filter-options", Filters(), sum(gens.values())),
                filter_options,
            ),
            "widgets": widgets,
            "wall": request.GET.get("wall") == "1",
            "qs": filters.querystring(),
            **page_flags(),
        },
    )


@staff_required
@require_GET
def widget(request, name: str):
    """One overview widget alone. 204 when the client already shows this version: then the
    answer costs the generation's query and a cache look-up, no building, no rendering."""
    if not is_partial(request):
        return redirect(reverse("hosts:overview") + "?" + request.GET.urlencode())
    filters = parse_filters(request.GET)
    gen = generation.current(name)  # each widget is its own topic
    ctx = cached_context(name, filters, gen)
    if unchanged(request, ctx["w"]["version"]):
        return HttpResponse(status=204)
    response = HttpResponse(cached_html(name, filters, gen))
    response[VERSION_HEADER] = ctx["w"]["version"]
    return response


@staff_required
@require_GET
def search(request):
    filters = parse_filters(request.GET)
    return render(
        request,
        "hosts/search.html",
        {"filters": filters, "results": search_results(filters.q), **page_flags()},
    )


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


# --- drill-downs -------------------------------------------------------------------------


def live(w: dict, url: str, every: int) -> dict:
    return {"w": w, "widget_url": url, "every": every}


def _live_or_page(request, w, url, every, partial_template, page_template, page_ctx):
    """The same widget context serves the page (with the rest of it) and the partial."""
    c = live(w, url, every)
    if is_partial(request):
        if unchanged(request, w["version"]):
            return HttpResponse(status=204)
        response = render(request, partial_template, {"c": c, **page_flags()})
        response[VERSION_HEADER] = w["version"]
        return response
    return render(request, page_template, {"c": c, **page_ctx(), **page_flags()})


def _cluster(request, cluster_id: int):
    obj = get_object_or_404(Cluster.objects.select_related("customer"), pk=cluster_id)
    # The pair's live card reads what its kind's cluster widget reads: cached the same way,
    # by the generation of that widget's topic.
    gen = generation.current(generation.cluster_topic(obj.kind))
    latest = ("latest-cluster-health", obj.pk)
    health = dashboard_cache.remember(
        dashboard_cache.key(f"cluster-health-{obj.pk}", Filters(), gen),
        lambda: detail.cluster_health(obj, known=dashboard_cache.LOCAL.get(latest)),
    )
    dashboard_cache.LOCAL.put(latest, health)
    return _live_or_page(
        request,
        health,
        reverse("hosts:cluster-health", args=[obj.pk]),
        10,
        "hosts/partials/cluster_health.html",
        "hosts/cluster.html",
        lambda: detail.cluster_detail(obj),
    )


@staff_required
@require_GET
def cluster(request, cluster_id: int):
    return _cluster(request, cluster_id)


@staff_required
@require_GET
def cluster_health(request, cluster_id: int):
    if not is_partial(request):
        return redirect("hosts:cluster", cluster_id=cluster_id)
    return _cluster(request, cluster_id)


@staff_required
@require_GET
def host(request, host_id: int):
    obj = get_object_or_404(Host.objects.select_related("customer", "site"), pk=host_id)
    return _live_or_page(
        request,
        detail.host_status(obj),
        reverse("hosts:host-status", args=[obj.pk]),
        10,
        "hosts/partials/host_status.html",
        "hosts/host.html",
        lambda: detail.host_detail(obj),
    )


@staff_required
@require_GET
def host_status(request, host_id: int):
    if not is_partial(request):
        return redirect("hosts:host", host_id=host_id)
    return host(request, host_id)


@noc_required
@require_POST
@recent_auth_required
def host_key(request, host_id: int):
    """Approve or reject the host key a host offered (NOC only, audited by the service; a
    password and code entered within the re-auth window, since a wrong pin hands the fleet's
    SSH sessions to whoever answers)."""
    obj = get_object_or_404(Host, pk=host_id)
    decision = request.POST.get("decision")
    try:
        if decision == "approve":
            services.approve_host_key(
                obj, by=request.user, expected_fingerprint=request.POST.get("fingerprint", "")
            )
            messages.success(request, f"Host key of {obj.name} approved; polling resumes.")
        elif decision == "reject":
            services.reject_host_key(obj, by=request.user)
            messages.success(request, f"Offered host key of {obj.name} rejected.")
        else:
            messages.error(request, "Choose approve or reject.")
    except services.HostKeyDecisionError as exc:
        messages.error(request, str(exc))
    return redirect("hosts:host", host_id=obj.pk)


@staff_required
@require_GET
def mirror(request, mirror_id: int):
    obj = get_object_or_404(Mirror.objects.select_related("host"), pk=mirror_id)
    ctx = detail.mirror_detail(obj)
    return render(request, "hosts/mirror.html", {**ctx, **page_flags()})


@staff_required
@require_GET
def pool(request, pool_id: int):
    obj = get_object_or_404(ZPool.objects.select_related("host"), pk=pool_id)
    ctx = detail.pool_detail(obj)
    return render(request, "hosts/pool.html", {**ctx, **page_flags()})


@staff_required
@require_GET
def backend(request, backend_id: int):
    obj = get_object_or_404(HaproxyBackend.objects.select_related("host"), pk=backend_id)
    ctx = detail.backend_detail(obj)
    return render(request, "hosts/backend.html", {**ctx, **page_flags()})


@staff_required
@require_GET
def backup_job(request, job_id: int):
    obj = get_object_or_404(BackupJob.objects.select_related("source", "target"), pk=job_id)
    ctx = detail.backup_job_detail(obj)
    return render(request, "hosts/backup_job.html", {**ctx, **page_flags()})


@staff_required
@require_GET
def customer(request, customer_id: int):
    obj = get_object_or_404(Customer, pk=customer_id)
    ctx = detail.customer_detail(obj)
    return render(request, "hosts/customer.html", {**ctx, **page_flags()})

"""What every dashboard widget shares: the filters (parsed from the query string,
never raising), the host filter as a Q, and the digest that versions a widget."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from urllib.parse import urlencode

from django.db.models import Q

from customers.models import Customer
from hosts.choices import ClusterKind, HostRole
from hosts.models import (
    Site,
)


@dataclass(frozen=True)
class Filters:
    customer: Customer | None = None
    site: Site | None = None
    kind: str = ""
    health: str = ""
    q: str = ""
    errors: tuple[str, ...] = ()

    def querystring(self) -> str:
        pairs = {
            "customer": self.customer.slug if self.customer else "",
            "site": self.site.slug if self.site else "",
            "kind": self.kind,
            "health": self.health,
        }
        return urlencode({k: v for k, v in pairs.items() if v})

    @property
    def active(self) -> bool:
        return bool(self.customer or self.site or self.kind or self.health)


def digest(*parts) -> str:
    return hashlib.blake2b(repr(parts).encode(), digest_size=8).hexdigest()


def host_filter(f: Filters, prefix: str = "") -> Q:
    """The customer/site/kind filters as a Q on Host, reached through `prefix`."""
    q = Q()
    if f.customer:
        q &= Q(**{f"{prefix}customer": f.customer})
    if f.site:
        q &= Q(**{f"{prefix}site": f.site})
    if f.kind in HostRole.values:
        q &= Q(**{f"{prefix}roles__icontains": f'"{f.kind}"'})
    elif f.kind:
        q &= Q(**{f"{prefix}memberships__cluster__kind": f.kind})
    return q


def health_matches(tone: str, stale: bool, health: str) -> bool:
    return {
        "problems": tone != "ok",
        "critical": tone == "critical",
        "warning": tone == "warning",
        "stale": stale,
        "ok": tone == "ok",
    }[health]


LIST_LIMIT = 50  # rows per problem list; the widget says how many more there are


HEALTH_CHOICES = {
    "problems": "Problems only",
    "critical": "Critical",
    "warning": "Warning",
    "stale": "Stale or unreachable",
    "ok": "Healthy",
}


KIND_CHOICES = {**dict(ClusterKind.choices), **dict(HostRole.choices)}


def parse_filters(params) -> Filters:
    """Junk values are dropped with a message; never an exception. At most two queries."""
    errors = []
    customer = site = None
    slug = params.get("customer", "").strip()[:60]
    if slug:
        customer = Customer.objects.filter(slug=slug).first()
        if customer is None:
            errors.append(f"No customer “{slug}”: showing all customers.")
    slug = params.get("site", "").strip()[:60]
    if slug:
        site = Site.objects.filter(slug=slug).first()
        if site is None:
            errors.append(f"No site “{slug}”: showing all sites.")
    kind = params.get("kind", "").strip()[:40]
    if kind and kind not in KIND_CHOICES:
        errors.append(f"Unknown kind “{kind}”: showing every kind.")
        kind = ""
    health = params.get("health", "").strip()[:20]
    if health and health not in HEALTH_CHOICES:
        errors.append(f"Unknown health “{health}”: showing every state.")
        health = ""
    return Filters(customer, site, kind, health, params.get("q", "").strip()[:100], tuple(errors))


def filter_options() -> dict:
    return {
        "customers": list(Customer.objects.values_list("slug", "name")),
        "sites": list(Site.objects.values_list("slug", "name")),
        "kinds": list(KIND_CHOICES.items()),
        "healths": list(HEALTH_CHOICES.items()),
    }

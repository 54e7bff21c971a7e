"""`{% customer_impact host=... cluster=... %}` and `{% open_customer_impacts %}`: the
customer-impact cards on NOC pages (alert, operation, overview). Staff pages only."""

from django import template

from portal.impact import impact_of, open_impacts

register = template.Library()


def _id(obj):
    return getattr(obj, "pk", obj)


@register.inclusion_tag("customers/impact.html")
def customer_impact(host=None, cluster=None, customer=None, hosts=()):
    host_ids = [_id(host), *(_id(h) for h in hosts)]
    return {
        "impacts": impact_of(
            host_ids=host_ids, cluster_ids=[_id(cluster)], customer_ids=[_id(customer)]
        ),
        "title": "Customer impact",
    }


@register.inclusion_tag("customers/impact.html")
def open_customer_impacts():
    return {"impacts": open_impacts(), "title": "Customers with an open impact", "overview": True}

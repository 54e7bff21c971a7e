"""THE tenancy helpers. Every portal view, partial, form field and API starts here."""

from django.db.models import QuerySet

from customers.models import Customer


def customer_of(user) -> Customer | None:
    if not user.is_authenticated:
        return None
    membership = getattr(user, "membership", None)
    return membership.customer if membership else None


def scope(queryset: QuerySet, user, *, field: str = "customer") -> QuerySet:
    """Restrict `queryset` to the user's customer through `field` (a lookup path to the
    Customer, e.g. "host__customer"). A user without a membership sees nothing."""
    customer = customer_of(user)
    if customer is None:
        return queryset.none()
    if queryset.model is Customer:
        return queryset.filter(pk=customer.pk)
    return queryset.filter(**{field: customer})

"""Who must use a second factor: the policy nyiops.twofactor asks about (RELIABILITY.md D7).

Staff (NOC, On-call, Django staff and superusers) always; customer users when their company
set Customer.require_2fa. It only answers the question; enforcing it is nyiops.twofactor's."""

from customers.scoping import customer_of
from nyiops.roles import is_staff_role


def requires_two_factor(user) -> bool:
    if not user.is_authenticated:
        return False
    if user.is_staff or user.is_superuser or is_staff_role(user):
        return True
    customer = customer_of(user)
    return bool(customer is not None and customer.require_2fa)

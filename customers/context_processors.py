from customers.scoping import customer_of
from nyiops.roles import is_noc, is_oncall, is_staff_role


def roles(request):
    user = request.user
    return {
        "user_is_noc": is_noc(user),
        "user_is_oncall": is_oncall(user),
        "user_is_staff_role": is_staff_role(user),
        "user_customer": customer_of(user),
    }

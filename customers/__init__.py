"""Tenants (customers), memberships, tenancy scoping and the customer portal."""

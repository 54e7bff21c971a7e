from django.apps import AppConfig
from django.db.models.signals import post_migrate


class CustomersConfig(AppConfig):
    name = "customers"

    def ready(self):
        from nyiops.roles import ensure_role_groups

        post_migrate.connect(ensure_role_groups, dispatch_uid="customers.ensure_role_groups")

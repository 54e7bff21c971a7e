"""manage.py commands for operating the fleet (poll, fleet_status, host keys, inventory)."""

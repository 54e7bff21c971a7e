"""`manage.py jail_requests` and the demo's seed of a pending request."""

"""manage.py commands of the alerts app."""

"""manage.py commands of the customers app."""

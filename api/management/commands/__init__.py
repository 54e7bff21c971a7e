"""`manage.py api_tokens`: create, list and revoke API tokens."""

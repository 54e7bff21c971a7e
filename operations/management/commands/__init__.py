"""`manage.py operations`: the CLI over the same services the pages and worker use."""

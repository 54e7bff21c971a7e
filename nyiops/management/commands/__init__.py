"""`manage.py rotate_keys`: project-wide commands; they import no app."""

"""Management commands of the api app."""

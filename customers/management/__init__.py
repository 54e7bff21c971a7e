"""Management commands of the customers app."""

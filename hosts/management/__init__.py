"""Management commands of the hosts app."""

"""Management commands that belong to the project as a whole (key rotation)."""

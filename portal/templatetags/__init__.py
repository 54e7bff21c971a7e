"""Template tags of the portal (customer impact on NOC pages)."""

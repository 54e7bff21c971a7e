"""Template filters of the NOC pages."""

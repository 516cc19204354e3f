"""fer4d.store."""

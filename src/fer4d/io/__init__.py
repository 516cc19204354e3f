"""fer4d.io."""

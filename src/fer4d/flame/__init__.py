"""fer4d.flame."""

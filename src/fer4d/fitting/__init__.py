"""fer4d.fitting."""

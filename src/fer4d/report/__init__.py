"""fer4d.report."""

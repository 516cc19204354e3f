"""fer4d.models."""

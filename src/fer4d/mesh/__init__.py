"""fer4d.mesh."""

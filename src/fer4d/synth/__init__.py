"""fer4d.synth."""

"""Training loops, checkpoints, devices and seeds."""

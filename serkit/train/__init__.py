"""Training: configuration, the training loop, checkpoints, distributed helpers."""

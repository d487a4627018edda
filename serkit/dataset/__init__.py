"""Training and evaluation data: examples loaded from data directories, and the batch pipeline."""

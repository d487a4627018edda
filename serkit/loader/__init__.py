"""What feeds a model: examples loaded from data directories into memory (features, labels, CMVN,
transcripts), the batch pipeline, and the ``data:`` section of a training config."""

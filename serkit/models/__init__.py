"""Emotion models, built by name from YAML (see :mod:`serkit.models.registry`): acoustic models,
a text-only model and audio + text fusion models."""
from serkit.models import fusion, parallel_crnn, seed_crnn, text  # noqa: F401  (register the models)
from serkit.models.registry import MODELS, build_model, register, run_model, uses_text  # noqa: F401

"""Acoustic emotion models, built by name from YAML (see :mod:`serkit.models.registry`)."""
from serkit.models import parallel_crnn, seed_crnn  # noqa: F401  (register the models)
from serkit.models.registry import MODELS, build_model, register  # noqa: F401

"""Emotion models, built by name from YAML: acoustic models, a text-only model and audio + text
fusion models. Importing this package registers them all (:mod:`serkit.models.registry`)."""
from __future__ import annotations

from typing import Any, Mapping

import torch

from serkit.models import ensemble, fusion, parallel_crnn, seed_crnn, text  # noqa: F401  (register the models)
from serkit.models.registry import MODELS, build_model, reads_text, register, run_model, uses_text  # noqa: F401


def model_from_checkpoint(state: Mapping[str, Any]) -> torch.nn.Module:
    """Rebuild the model a serkit checkpoint describes and load its weights (eval mode)."""
    model = build_model(state["model_name"], state["model_options"], int(state["input_dim"]), len(state["labels"]))
    model.load_state_dict(state["model"])
    return model.eval()

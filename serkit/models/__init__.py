"""Emotion models, built by name from YAML: acoustic models, a text-only model and audio + text
fusion models. Importing this package registers them all (:mod:`serkit.models.registry`)."""
from __future__ import annotations

from typing import Any, Mapping

import torch

from serkit.errors import ConfigError
from serkit.models import ensemble, fusion, parallel_crnn, seed_crnn, text  # noqa: F401  (register the models)
from serkit.models.registry import MODELS, reads_text, register, run_model  # noqa: F401
from serkit.utils.config import from_dict


def build_model(name: str, options: Mapping[str, Any], input_dim: int, num_classes: int) -> torch.nn.Module:
    """Instantiate model ``name`` with ``options`` (a mapping from YAML, checked against its Config)."""
    if name not in MODELS:
        acoustic = sorted(n for n in MODELS if not uses_text(n))
        text = sorted(n for n in MODELS if uses_text(n))
        raise ConfigError(f"unknown model '{name}'; registered models: {', '.join(acoustic)}"
                          + (f"; reading transcripts too: {', '.join(text)}" if text else ""))
    cls = MODELS[name]
    config = from_dict(cls.Config, options, section="model")
    return cls(config, input_dim=input_dim, num_classes=num_classes)


def model_from_checkpoint(state: Mapping[str, Any]) -> torch.nn.Module:
    """Rebuild the model a serkit checkpoint describes and load its weights (eval mode)."""
    model = build_model(state["model_name"], state["model_options"], int(state["input_dim"]), len(state["labels"]))
    model.load_state_dict(state["model"])
    return model.eval()


def uses_text(model: Any) -> bool:
    """Whether a model (instance, class, DistributedDataParallel wrapper or registered name) reads
    transcripts, i.e. takes ``(feats, lengths, tokens, token_lengths)``."""
    return reads_text(MODELS.get(model) if isinstance(model, str) else model)

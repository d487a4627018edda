"""Name -> model class registry: the ``@register`` decorator the model modules use, and
:func:`build_model`. Import it as :func:`serkit.models.build_model`, which imports (registers)
every model module first.

Acoustic models are called ``model(feats, lengths)``. Models that read transcripts declare
``uses_text = True`` and are called ``model(feats, lengths, tokens, token_lengths)``;
:func:`run_model` makes the right call for either kind.
"""
from __future__ import annotations

from typing import Any, Callable, Dict, Mapping, Optional, Type

import torch

from serkit.errors import ConfigError, SerkitError
from serkit.utils.config import from_dict

MODELS: Dict[str, Type[torch.nn.Module]] = {}


def register(name: str) -> Callable[[Type[torch.nn.Module]], Type[torch.nn.Module]]:
    """Class decorator: ``@register("parallel_crnn")``. The class must define ``Config``."""

    def wrap(cls):
        if name in MODELS:
            raise ValueError(f"model name '{name}' registered twice")
        if not hasattr(cls, "Config"):
            raise TypeError(f"{cls.__name__} needs a nested dataclass 'Config'")
        MODELS[name] = cls
        cls.registered_name = name
        return cls

    return wrap


def reads_text(model: Any) -> bool:
    """Whether a model (instance, class or DistributedDataParallel wrapper) reads transcripts,
    i.e. takes ``(feats, lengths, tokens, token_lengths)``. For a registered name:
    :func:`serkit.models.uses_text`."""
    if isinstance(model, torch.nn.parallel.DistributedDataParallel):
        model = model.module
    return bool(getattr(model, "uses_text", False))


def run_model(model: torch.nn.Module, feats: torch.Tensor, lengths: torch.Tensor,
              tokens: Optional[torch.Tensor] = None, token_lengths: Optional[torch.Tensor] = None) -> torch.Tensor:
    """Logits of an acoustic or a text-reading model, with the signature it takes."""
    if not reads_text(model):
        return model(feats, lengths)
    if tokens is None or token_lengths is None:
        name = getattr(getattr(model, "module", model), "registered_name", type(model).__name__)
        raise SerkitError(
            f"model '{name}' reads transcripts but got no tokens; train it with data.text.enabled: true "
            f"(its checkpoint then carries the sentencepiece model)"
        )
    return model(feats, lengths, tokens, token_lengths)


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


def uses_text(model: Any) -> bool:
    """Whether a model (instance, class, DistributedDataParallel wrapper or registered name) reads
    transcripts, i.e. takes ``(feats, lengths, tokens, token_lengths)``."""
    return reads_text(MODELS.get(model) if isinstance(model, str) else model)

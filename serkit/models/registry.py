"""Name -> model class registry; models are built from the ``model:`` section of a YAML config."""
from __future__ import annotations

from typing import Any, Callable, Dict, Mapping, Type

import torch

from serkit.errors import ConfigError
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


def build_model(name: str, options: Mapping[str, Any], input_dim: int, num_classes: int) -> torch.nn.Module:
    """Instantiate model ``name`` with ``options`` (a mapping from YAML, checked against its Config)."""
    import serkit.models  # noqa: F401  (registers the built-in models)

    if name not in MODELS:
        raise ConfigError(f"unknown model '{name}'; registered models: {', '.join(sorted(MODELS))}")
    cls = MODELS[name]
    config = from_dict(cls.Config, options, section="model")
    return cls(config, input_dim=input_dim, num_classes=num_classes)


def model_from_checkpoint(state: Mapping[str, Any]) -> torch.nn.Module:
    """Rebuild the model a serkit checkpoint describes and load its weights (eval mode)."""
    model = build_model(state["model_name"], state["model_options"], int(state["input_dim"]), len(state["labels"]))
    model.load_state_dict(state["model"])
    return model.eval()

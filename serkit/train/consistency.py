"""Clean-to-noisy consistency (``train.consistency``): a noisy training item's posterior pulled
towards the model's posterior on the same item's clean version (see
:class:`serkit.train.config.ConsistencyConfig`)."""
from __future__ import annotations

import torch
from torch import nn

from serkit.train.config import ConsistencyConfig


def consistency_loss(logits: torch.Tensor, clean_logits: torch.Tensor, config: ConsistencyConfig) -> torch.Tensor:
    """``weight * T^2 * KL(softmax(clean / T) || softmax(logits / T))``, mean over the batch;
    ``clean_logits`` is a target (no gradient flows into it)."""
    t = config.temperature
    soft = nn.functional.kl_div(
        nn.functional.log_softmax(logits / t, dim=-1), nn.functional.softmax(clean_logits.detach() / t, dim=-1),
        reduction="batchmean",
    )
    return config.weight * t * t * soft

"""Seed ensembles: several models of one architecture, trained with different seeds, as one model.

Its output is the mean of the members' log-posteriors (a geometric mean of their posteriors,
renormalised by the softmax that reads it), so everything that takes a model (scoring, ONNX
export, INT8 quantization, streaming) takes an ensemble unchanged. Built by
:func:`serkit.train.ensemble.combine_members` from the members' checkpoints (``train.ensemble: N``).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict

import torch
from torch import nn

from serkit.models.registry import build_model, register, uses_text


@register("ensemble")
class Ensemble(nn.Module):
    @dataclass
    class Config:
        member: str = "parallel_crnn"  # the members' registered model name
        member_options: Dict[str, Any] = field(default_factory=dict)  # their model options
        members: int = 2

        def __post_init__(self) -> None:
            if self.members < 1:
                raise ValueError("members must be >= 1")
            if self.member == "ensemble":
                raise ValueError("an ensemble's members cannot be ensembles")

    def __init__(self, config: "Ensemble.Config", input_dim: int, num_classes: int) -> None:
        super().__init__()
        if uses_text(config.member):
            raise ValueError(f"model '{config.member}' reads transcripts; ensembles are of acoustic models")
        self.config = config
        self.members = nn.ModuleList(
            build_model(config.member, config.member_options, input_dim, num_classes) for _ in range(config.members)
        )

    def forward(self, feats: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        logp = [torch.log_softmax(m(feats, lengths).float(), dim=-1) for m in self.members]
        return torch.stack(logp).mean(0)

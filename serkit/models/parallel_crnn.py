"""The parallel CRNN of the design: K frequency bands, one CNN branch per band, BiLSTM over
time, attention pooling, classifier; and a single-branch CRNN of the same size for comparison.

Unlike the design paper's sample code (where every branch sees the whole spectrum), each
branch here sees only its own band of bins, so the branches really are parallel over frequency.
"""
from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import List, Optional, Tuple

import torch
from torch import nn

from serkit.models.layers import (
    AttentionPooling, ConvStack, RecurrentEncoder, TemporalConvStack, lengths_to_mask, pooled_lengths,
)
from serkit.models.registry import register


def band_ranges(num_bins: int, num_bands: int, edges: Optional[List[int]], overlap: int) -> List[Tuple[int, int]]:
    """``[(start, end), ...]`` bin ranges of each band, widened by ``overlap`` bins on each side."""
    if edges is None:
        edges = [round(num_bins * k / num_bands) for k in range(num_bands + 1)]
    if len(edges) != num_bands + 1:
        raise ValueError(f"band_edges needs {num_bands + 1} boundaries for {num_bands} bands, got {edges}")
    if edges[0] != 0 or edges[-1] != num_bins or any(b <= a for a, b in zip(edges, edges[1:])):
        raise ValueError(f"band_edges {edges} must rise strictly from 0 to the feature dimension {num_bins}")
    if overlap < 0:
        raise ValueError("band_overlap must be >= 0")
    return [(max(0, a - overlap), min(num_bins, b + overlap)) for a, b in zip(edges, edges[1:])]


@register("parallel_crnn")
class ParallelCRNN(nn.Module):
    @dataclass
    class Config:
        num_bands: int = 3
        band_edges: Optional[List[int]] = None  # bin boundaries, num_bands + 1 values; default equal widths
        band_overlap: int = 8  # bins each band reaches into its neighbours
        channels: List[int] = field(default_factory=lambda: [16, 32, 64])
        kernel: int = 3
        pools: List[List[int]] = field(default_factory=lambda: [[2, 2], [2, 2], [1, 2]])  # (time, freq)
        pool_first: bool = False  # conv, pool, norm, activation: cheaper on CPU (layers.ConvBlock)
        activation: str = "relu"
        branch_dim: int = 96  # per-band projection of each frame's CNN output
        rnn: str = "lstm"  # lstm | gru
        rnn_hidden: int = 128
        rnn_layers: int = 1
        attention_heads: int = 1
        attention_hidden: int = 64  # 0: a single linear scoring layer
        pooling: str = "attention"  # attention | attentive_stats (weighted mean and std)
        dropout: float = 0.3
        # Under CPU bfloat16 autocast (train.cpu_amp) only the band CNNs, where the cost is, run in
        # bfloat16; the recurrent encoder, pooling and classifier stay float32 (egs/emodb/TUNING.md T6).
        rnn_float32: bool = False
        # The last prosody_dim feature columns are per-frame descriptors, not spectrum (the
        # logmel_prosody front end appends openSMILE's 25 eGeMAPS descriptors): they get a branch of
        # their own, 1-D convolutions over time (prosody_channels wide, the bands' time pooling),
        # joined to the bands' frames before the BiLSTM. The bands split the columns before them.
        prosody_dim: int = 0
        prosody_channels: int = 64

        def __post_init__(self) -> None:
            if self.rnn not in ("lstm", "gru"):
                raise ValueError(f"rnn '{self.rnn}' is not lstm or gru")
            if self.pooling not in ("attention", "attentive_stats"):
                raise ValueError(f"pooling '{self.pooling}' is not attention or attentive_stats")
            if self.num_bands < 1:
                raise ValueError("num_bands must be >= 1")
            if not 0.0 <= self.dropout < 1.0:
                raise ValueError("dropout must be in [0, 1)")
            if self.prosody_dim < 0 or self.prosody_channels < 1:
                raise ValueError("prosody_dim must be >= 0 and prosody_channels >= 1")

    def __init__(self, config: "ParallelCRNN.Config", input_dim: int, num_classes: int) -> None:
        super().__init__()
        self.config = config
        spectral_dim = input_dim - config.prosody_dim
        if spectral_dim < config.num_bands:
            raise ValueError(f"prosody_dim {config.prosody_dim} leaves {spectral_dim} of the {input_dim} feature "
                             f"columns for {config.num_bands} bands: are the features logmel_prosody?")
        self.bands = band_ranges(spectral_dim, config.num_bands, config.band_edges, config.band_overlap)
        pools = [tuple(p) for p in config.pools]
        self.branches = nn.ModuleList(
            ConvStack(end - start, config.channels, config.kernel, pools, config.activation, config.pool_first)
            for start, end in self.bands
        )
        self.projections = nn.ModuleList(nn.Linear(b.out_dim, config.branch_dim) for b in self.branches)
        self.time_stride = self.branches[0].time_stride
        self.prosody = None
        if config.prosody_dim:
            self.prosody = TemporalConvStack(config.prosody_dim, config.prosody_channels, config.kernel,
                                             [p[0] for p in pools], config.activation)
            self.prosody_projection = nn.Linear(self.prosody.out_dim, config.branch_dim)
        self.dropout = nn.Dropout(config.dropout)
        self.encoder = RecurrentEncoder(
            config.branch_dim * (len(self.bands) + (self.prosody is not None)), config.rnn_hidden, config.rnn_layers, config.rnn, config.dropout
        )
        self.pooling = AttentionPooling(
            self.encoder.out_dim, config.attention_heads, config.attention_hidden, config.pooling == "attentive_stats"
        )
        self.classifier = nn.Linear(self.pooling.out_dim, num_classes)

    def frame_features(self, feats: torch.Tensor, lengths: Optional[torch.Tensor] = None) -> torch.Tensor:
        """``[B, T, F]`` -> per-frame join of the band branches (and the prosody branch)
        ``[B, T', K * branch_dim]``."""
        outs = [
            torch.relu(proj(branch(feats[:, :, start:end], lengths)))
            for (start, end), branch, proj in zip(self.bands, self.branches, self.projections)
        ]
        if self.prosody is not None:
            prosody = self.prosody(feats[:, :, feats.shape[2] - self.config.prosody_dim:], lengths)
            outs.append(torch.relu(self.prosody_projection(prosody)))
        return torch.cat(outs, dim=-1)

    def encode(self, feats: torch.Tensor, lengths: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """Utterance vector ``[B, D]`` and attention weights ``[B, T', heads]``."""
        x = self.dropout(self.frame_features(feats, lengths))
        lengths = pooled_lengths(lengths, self.time_stride).clamp(max=x.shape[1])
        with self._back_end_precision():
            x = self.encoder(x.float() if self.config.rnn_float32 else x, lengths)
            return self.pooling(x, lengths_to_mask(lengths, x.shape[1]))

    def forward(self, feats: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        pooled, _ = self.encode(feats, lengths)
        with self._back_end_precision():
            return self.classifier(self.dropout(pooled))

    def _back_end_precision(self):
        if self.config.rnn_float32 and torch.is_autocast_enabled("cpu"):
            return torch.autocast("cpu", enabled=False)
        return nullcontext()


@register("crnn")
class CRNN(ParallelCRNN):
    """Single-branch CRNN over the whole spectrum, widened to about the parallel model's size."""

    @dataclass
    class Config(ParallelCRNN.Config):
        num_bands: int = 1
        band_overlap: int = 0
        channels: List[int] = field(default_factory=lambda: [16, 32, 64])
        branch_dim: int = 288

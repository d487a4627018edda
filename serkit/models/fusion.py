"""Audio + text fusion inside one network, on the parallel CRNN (``early_fusion``,
``intermediate_fusion``); late fusion of two models' posteriors is serkit.bin.late_fusion.

``early_fusion``: the utterance's text vector, projected (``text_proj_dim``) and passed through a
ReLU, is concatenated to *every frame* of the joined band-branch outputs, i.e. to the input of
the BiLSTM. Not earlier: the CNN branches convolve local time-frequency patches of one band
each, and a vector that is constant over time and has no frequency axis gives a convolution
nothing to work with (it would have to be copied into every band, breaking the band split).
At the BiLSTM input the words condition the temporal model of every frame, and through it the
attention pooling and everything after: the two modalities are joined before any
utterance-level summary of the acoustics.

``intermediate_fusion``: the acoustic path runs unchanged up to the BiLSTM frames ``H``; the
text steers how they are pooled. Multi-head cross-modal attention takes the token states as
queries and ``H`` as keys and values (masked to each utterance's frames), so each word picks
the frames that bear on it; the per-token summaries are averaged over the valid tokens. The
classifier sees [the audio's own attention pooling of ``H``, the text-steered pooling, the text
vector]. Without a transcript the query is the learned "no text" state, so the cross-modal
pooling becomes an ordinary attention pooling with a learned query. Everything is trained
jointly, from scratch.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Tuple

import torch
from torch import nn

from serkit.models.layers import RecurrentEncoder, lengths_to_mask, masked_mean, pooled_lengths
from serkit.models.parallel_crnn import ParallelCRNN
from serkit.models.registry import register
from serkit.models.text import TextEncoder, TextOptions


@register("early_fusion")
class EarlyFusion(ParallelCRNN):
    uses_text = True

    @dataclass
    class Config(ParallelCRNN.Config, TextOptions):
        text_proj_dim: int = 32  # the text vector's size at every BiLSTM input frame

        def __post_init__(self) -> None:
            ParallelCRNN.Config.__post_init__(self)
            self.check_text()
            if self.text_proj_dim < 1:
                raise ValueError("text_proj_dim must be >= 1")

    def __init__(self, config: "EarlyFusion.Config", input_dim: int, num_classes: int) -> None:
        super().__init__(config, input_dim, num_classes)
        self.text = TextEncoder(config)
        self.text_proj = nn.Linear(self.text.out_dim, config.text_proj_dim)
        self.encoder = RecurrentEncoder(
            config.branch_dim * len(self.bands) + config.text_proj_dim, config.rnn_hidden, config.rnn_layers,
            config.rnn, config.dropout,
        )

    def encode(self, feats: torch.Tensor, lengths: torch.Tensor, tokens: torch.Tensor,
               token_lengths: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """Utterance vector ``[B, D]`` and attention weights ``[B, T', heads]``."""
        x = self.dropout(self.frame_features(feats, lengths))
        lengths = pooled_lengths(lengths, self.time_stride).clamp(max=x.shape[1])
        words = torch.relu(self.text_proj(self.text(tokens, token_lengths).vector))
        x = torch.cat([x, words[:, None, :].expand(-1, x.shape[1], -1)], dim=-1)
        x = self.encoder(x, lengths)
        return self.pooling(x, lengths_to_mask(lengths, x.shape[1]))

    def forward(self, feats: torch.Tensor, lengths: torch.Tensor, tokens: torch.Tensor,
                token_lengths: torch.Tensor) -> torch.Tensor:
        pooled, _ = self.encode(feats, lengths, tokens, token_lengths)
        return self.classifier(self.dropout(pooled))


@register("intermediate_fusion")
class IntermediateFusion(ParallelCRNN):
    uses_text = True

    @dataclass
    class Config(ParallelCRNN.Config, TextOptions):
        cross_dim: int = 128  # width of the cross-modal attention
        cross_heads: int = 4

        def __post_init__(self) -> None:
            ParallelCRNN.Config.__post_init__(self)
            self.check_text()
            if self.cross_dim < 1 or self.cross_heads < 1 or self.cross_dim % self.cross_heads:
                raise ValueError(f"cross_dim {self.cross_dim} must be a positive multiple of cross_heads {self.cross_heads}")

    def __init__(self, config: "IntermediateFusion.Config", input_dim: int, num_classes: int) -> None:
        super().__init__(config, input_dim, num_classes)
        self.text = TextEncoder(config)
        self.query = nn.Linear(self.text.out_dim, config.cross_dim)
        self.cross = nn.MultiheadAttention(
            config.cross_dim, config.cross_heads, dropout=0.0, batch_first=True,
            kdim=self.encoder.out_dim, vdim=self.encoder.out_dim,
        )
        self.classifier = nn.Linear(self.pooling.out_dim + config.cross_dim + self.text.out_dim, num_classes)

    def encode(self, feats: torch.Tensor, lengths: torch.Tensor, tokens: torch.Tensor,
               token_lengths: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """Fused utterance vector ``[B, D]`` and the text-steered frame weights ``[B, T']``
        (averaged over heads and valid tokens)."""
        x = self.dropout(self.frame_features(feats, lengths))
        lengths = pooled_lengths(lengths, self.time_stride).clamp(max=x.shape[1])
        frames = self.encoder(x, lengths)
        frame_mask = lengths_to_mask(lengths, frames.shape[1])
        audio, _ = self.pooling(frames, frame_mask)
        text = self.text(tokens, token_lengths)
        steered, weights = self.cross(self.query(text.states), frames, frames, key_padding_mask=~frame_mask,
                                      need_weights=True, average_attn_weights=True)  # [B, L, C], [B, L, T']
        steered = masked_mean(steered, text.mask)
        weights = masked_mean(weights, text.mask)
        return torch.cat([audio, steered, text.vector], dim=-1), weights

    def forward(self, feats: torch.Tensor, lengths: torch.Tensor, tokens: torch.Tensor,
                token_lengths: torch.Tensor) -> torch.Tensor:
        fused, _ = self.encode(feats, lengths, tokens, token_lengths)
        return self.classifier(self.dropout(fused))

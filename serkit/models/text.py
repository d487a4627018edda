"""The text side: a transcript encoder (token embeddings + BiLSTM or a small Transformer, with
masked attention pooling) and ``text_only``, a classifier on transcripts alone.

Text models take ``(feats, lengths, tokens, token_lengths)`` (see :mod:`serkit.models.registry`);
``text_only`` ignores the audio. An utterance without a transcript (``token_lengths == 0``) gets a
learned "no text" state in place of its token states, so its text vector is that learned vector.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import torch
from torch import nn

from serkit.models.layers import AttentionPooling, RecurrentEncoder, lengths_to_mask
from serkit.models.registry import register


@dataclass
class TextOptions:
    """Text-encoder options shared by the text and fusion models (``text_`` prefix)."""

    vocab_size: int = 0  # set by the trainer from its sentencepiece model; give it only when building by hand
    text_encoder: str = "lstm"  # lstm (BiLSTM) | transformer
    text_embed_dim: int = 64  # token embeddings (the Transformer's width)
    text_hidden: int = 64  # BiLSTM units per direction; the Transformer's feed-forward width
    text_layers: int = 1
    text_heads: int = 4  # Transformer attention heads
    text_max_len: int = 256  # Transformer positions; longer inputs are cut
    text_attention_hidden: int = 32  # pooling over tokens (0: one linear scoring layer)
    text_dropout: float = 0.2

    def check_text(self) -> None:
        if self.text_encoder not in ("lstm", "transformer"):
            raise ValueError(f"text_encoder '{self.text_encoder}' is not lstm or transformer")
        if self.vocab_size == 0:
            raise ValueError(
                "vocab_size is not set: the trainer sets it from the sentencepiece model it trains "
                "(data.text.enabled: true); give vocab_size when building a text model by hand"
            )
        if self.vocab_size < 3:
            raise ValueError("vocab_size must be >= 3 (padding, unknown and at least one piece)")
        if self.text_encoder == "transformer" and self.text_embed_dim % self.text_heads:
            raise ValueError(f"text_embed_dim {self.text_embed_dim} is not divisible by text_heads {self.text_heads}")
        if not 0.0 <= self.text_dropout < 1.0:
            raise ValueError("text_dropout must be in [0, 1)")


class TextOutput(NamedTuple):
    states: torch.Tensor  # [B, L, D] token states (the "no text" state at position 0 without text)
    mask: torch.Tensor  # [B, L] True on valid positions (position 0 only, without text)
    vector: torch.Tensor  # [B, D] attention-pooled utterance vector
    has_text: torch.Tensor  # [B] bool


class TextEncoder(nn.Module):
    def __init__(self, config: TextOptions) -> None:
        super().__init__()
        config.check_text()
        self.kind = config.text_encoder
        self.embed = nn.Embedding(config.vocab_size, config.text_embed_dim, padding_idx=0)
        self.dropout = nn.Dropout(config.text_dropout)
        if self.kind == "lstm":
            self.rnn = RecurrentEncoder(config.text_embed_dim, config.text_hidden, config.text_layers, "lstm",
                                        config.text_dropout)
            self.out_dim = self.rnn.out_dim
        else:
            self.max_len = config.text_max_len
            self.positions = nn.Embedding(config.text_max_len, config.text_embed_dim)
            layer = nn.TransformerEncoderLayer(
                config.text_embed_dim, config.text_heads, config.text_hidden, config.text_dropout, batch_first=True
            )
            self.transformer = nn.TransformerEncoder(layer, config.text_layers, enable_nested_tensor=False)
            self.out_dim = config.text_embed_dim
        self.no_text = nn.Parameter(0.02 * torch.randn(self.out_dim))
        self.pooling = AttentionPooling(self.out_dim, 1, config.text_attention_hidden)

    def forward(self, tokens: torch.Tensor, token_lengths: torch.Tensor) -> TextOutput:
        """``tokens [B, L]`` (0-padded, L >= 1), ``token_lengths [B]`` (0: no transcript)."""
        if self.kind == "transformer" and tokens.shape[1] > self.max_len:
            tokens, token_lengths = tokens[:, : self.max_len], token_lengths.clamp(max=self.max_len)
        has_text = token_lengths > 0
        lengths = token_lengths.clamp(min=1)  # a text-less row runs on one padding token, then is replaced
        mask = lengths_to_mask(lengths, tokens.shape[1])
        x = self.dropout(self.embed(tokens))
        if self.kind == "lstm":
            states = self.rnn(x, lengths)
        else:
            x = x + self.positions(torch.arange(tokens.shape[1], device=tokens.device))[None]
            states = self.transformer(x, src_key_padding_mask=~mask)
        states = torch.where(has_text[:, None, None], states, self.no_text.to(states.dtype).expand_as(states))
        vector, _ = self.pooling(states, mask)
        return TextOutput(states, mask, vector, has_text)


@register("text_only")
class TextOnly(nn.Module):
    """Transcript -> emotion: :class:`TextEncoder`, dropout, linear classifier (audio unused)."""

    uses_text = True

    @dataclass
    class Config(TextOptions):
        dropout: float = 0.3  # before the classifier

        def __post_init__(self) -> None:
            self.check_text()
            if not 0.0 <= self.dropout < 1.0:
                raise ValueError("dropout must be in [0, 1)")

    def __init__(self, config: "TextOnly.Config", input_dim: int, num_classes: int) -> None:
        super().__init__()
        self.config = config
        self.text = TextEncoder(config)
        self.dropout = nn.Dropout(config.dropout)
        self.classifier = nn.Linear(self.text.out_dim, num_classes)

    def forward(self, feats: torch.Tensor, lengths: torch.Tensor, tokens: torch.Tensor,
                token_lengths: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.dropout(self.text(tokens, token_lengths).vector))

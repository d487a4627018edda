"""``seed_crnn``: the design paper's sample model, kept as a baseline.

As written there: three Conv1d branches, each over the *whole* spectrum (the flaw that makes it
not parallel over frequency), ReLU, max-pooling by 2, concatenation, BiLSTM, a softmax attention
over time without masking, and a linear classifier. One change was unavoidable: the sample
declares ``nn.LSTM(64, ...)`` but feeds it the 192-dim concatenation, which cannot run; the LSTM
input here is ``3 * 64``.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from serkit.models.registry import register


@register("seed_crnn")
class SeedCRNN(nn.Module):
    @dataclass
    class Config:
        branches: int = 3
        conv_channels: int = 64
        rnn_hidden: int = 128

    def __init__(self, config: "SeedCRNN.Config", input_dim: int, num_classes: int) -> None:
        super().__init__()
        self.config = config
        self.cnn_branches = nn.ModuleList(
            nn.Sequential(nn.Conv1d(input_dim, config.conv_channels, 3, padding=1), nn.ReLU(), nn.MaxPool1d(2))
            for _ in range(config.branches)
        )
        self.bilstm = nn.LSTM(config.branches * config.conv_channels, config.rnn_hidden, bidirectional=True, batch_first=True)
        self.attention = nn.Sequential(nn.Linear(2 * config.rnn_hidden, 1), nn.Softmax(dim=1))
        self.fc = nn.Linear(2 * config.rnn_hidden, num_classes)

    def forward(self, feats: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        # lengths are ignored, as in the sample: padded frames take part in the attention
        x = feats.transpose(1, 2)
        out = torch.cat([branch(x).transpose(1, 2) for branch in self.cnn_branches], dim=2)
        out, _ = self.bilstm(out)
        weights = self.attention(out)
        return self.fc(torch.sum(out * weights, dim=1))

"""Building blocks shared by the acoustic models: conv blocks, masked recurrent encoder,
masked (multi-head) attention pooling."""
from __future__ import annotations

from typing import Optional, Sequence, Tuple

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

ACTIVATIONS = {"relu": nn.ReLU, "gelu": nn.GELU, "elu": nn.ELU, "silu": nn.SiLU}


def lengths_to_mask(lengths: torch.Tensor, max_len: int) -> torch.Tensor:
    """``[batch]`` lengths -> ``[batch, max_len]`` bool mask, True on valid frames."""
    return torch.arange(max_len, device=lengths.device)[None, :] < lengths[:, None]


class ConvBlock(nn.Module):
    """Conv2d + BatchNorm + activation + max-pooling over ``[batch, channels, time, freq]``.

    ``pool_first``: Conv2d + max-pooling + BatchNorm + activation. Normalisation and activation
    then run on the pooled map, a quarter of the size with 2x2 pooling: on a CPU, where these
    passes over memory cost as much as the convolutions, a training step of the EmoDB model takes
    about two thirds of the time (bench/RESULTS.md, "Training cost").
    """

    def __init__(self, c_in: int, c_out: int, kernel: int, pool: Tuple[int, int], activation: str,
                 pool_first: bool = False) -> None:
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, kernel, padding=kernel // 2, bias=False)
        self.norm = nn.BatchNorm2d(c_out)
        self.act = ACTIVATIONS[activation]()
        self.pool = nn.MaxPool2d(pool) if pool != (1, 1) else nn.Identity()
        self.time_pool = pool[0]
        self.pool_first = pool_first

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.pool_first:
            return self.act(self.norm(self.pool(self.conv(x))))
        return self.pool(self.act(self.norm(self.conv(x))))


class ConvStack(nn.Module):
    """A stack of :class:`ConvBlock` over one frequency band; ``[B, T, F] -> [B, T', C * F']``."""

    def __init__(
        self, num_bins: int, channels: Sequence[int], kernel: int, pools: Sequence[Tuple[int, int]], activation: str,
        pool_first: bool = False,
    ) -> None:
        super().__init__()
        if len(pools) != len(channels):
            raise ValueError(f"{len(channels)} conv layers need {len(channels)} pool sizes, got {len(pools)}")
        blocks, c_in, bins = [], 1, num_bins
        for c_out, pool in zip(channels, pools):
            blocks.append(ConvBlock(c_in, c_out, kernel, tuple(pool), activation, pool_first))
            c_in, bins = c_out, bins // pool[1]
        if bins < 1:
            raise ValueError(f"a band of {num_bins} bins is pooled away to nothing by pools {list(pools)}")
        self.blocks = nn.ModuleList(blocks).to(memory_format=torch.channels_last)
        self.out_dim = c_in * bins
        self.time_stride = 1
        for pool in pools:
            self.time_stride *= pool[0]

    def forward(self, x: torch.Tensor, lengths: Optional[torch.Tensor] = None) -> torch.Tensor:
        """With ``lengths``, frames past each utterance's end are zeroed after every block, so a
        padded utterance gives the same output as the same utterance alone."""
        # channels-last (NHWC) runs convolution and pooling about 1.6x faster on CPU (oneDNN)
        x = x.unsqueeze(1).contiguous(memory_format=torch.channels_last)  # [B, 1, T, F]
        padded = lengths is not None and bool((lengths < x.shape[2]).any())  # training crops often are not
        for block in self.blocks:
            x = block(x)
            if padded:
                lengths = pooled_lengths(lengths, block.time_pool)
                x = x * lengths_to_mask(lengths, x.shape[2])[:, None, :, None].to(x.dtype)
        b, c, t, f = x.shape
        return x.permute(0, 2, 1, 3).reshape(b, t, c * f)


class TemporalConvStack(nn.Module):
    """1-D convolutions over time for a stream of per-frame descriptors (no frequency axis):
    ``[B, T, D] -> [B, T', C]``, with the same time pooling as a :class:`ConvStack` so the two
    streams' frames line up. Conv1d, max-pooling over time, BatchNorm, activation per block."""

    def __init__(self, dim: int, channels: int, kernel: int, time_pools: Sequence[int], activation: str) -> None:
        super().__init__()
        blocks, c_in = [], dim
        for t in time_pools:
            blocks.append(nn.Sequential(
                nn.Conv1d(c_in, channels, kernel, padding=kernel // 2, bias=False),
                nn.MaxPool1d(t) if t > 1 else nn.Identity(), nn.BatchNorm1d(channels), ACTIVATIONS[activation](),
            ))
            c_in = channels
        self.blocks = nn.ModuleList(blocks)
        self.time_pools = list(time_pools)
        self.out_dim = channels

    def forward(self, x: torch.Tensor, lengths: Optional[torch.Tensor] = None) -> torch.Tensor:
        """With ``lengths``, frames past each utterance's end are zeroed after every block."""
        x = x.transpose(1, 2)  # [B, D, T]
        padded = lengths is not None and bool((lengths < x.shape[2]).any())
        for block, t in zip(self.blocks, self.time_pools):
            x = block(x)
            if padded:
                lengths = pooled_lengths(lengths, t)
                x = x * lengths_to_mask(lengths, x.shape[2])[:, None, :].to(x.dtype)
        return x.transpose(1, 2)


class RecurrentEncoder(nn.Module):
    """Bidirectional LSTM/GRU over padded sequences, packed so padding never enters the state."""

    def __init__(self, input_dim: int, hidden: int, layers: int, cell: str, dropout: float) -> None:
        super().__init__()
        rnn = {"lstm": nn.LSTM, "gru": nn.GRU}[cell]
        self.rnn = rnn(input_dim, hidden, num_layers=layers, batch_first=True, bidirectional=True,
                       dropout=dropout if layers > 1 else 0.0)
        self.out_dim = 2 * hidden

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
        out, _ = self.rnn(packed)
        out, _ = pad_packed_sequence(out, batch_first=True, total_length=x.shape[1])
        return out


class AttentionPooling(nn.Module):
    """Masked softmax attention over time; ``heads`` independent weightings, outputs concatenated.

    ``stats=True`` (attentive statistics pooling) also returns each head's weighted standard
    deviation, so the utterance vector describes the spread of the frames, not only their mean.
    """

    def __init__(self, dim: int, heads: int = 1, hidden: int = 0, stats: bool = False) -> None:
        super().__init__()
        if hidden > 0:
            self.score = nn.Sequential(nn.Linear(dim, hidden), nn.Tanh(), nn.Linear(hidden, heads))
        else:
            self.score = nn.Linear(dim, heads)
        self.heads = heads
        self.stats = stats
        self.out_dim = dim * heads * (2 if stats else 1)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """``x [B, T, D]``, ``mask [B, T]`` -> (pooled ``[B, out_dim]``, weights ``[B, T, heads]``)."""
        scores = self.score(x).masked_fill(~mask.unsqueeze(-1), float("-inf"))
        weights = torch.softmax(scores, dim=1)
        mean = torch.einsum("bth,btd->bhd", weights, x)
        if not self.stats:
            return mean.reshape(x.shape[0], -1), weights
        var = torch.einsum("bth,btd->bhd", weights, x * x) - mean * mean
        std = torch.sqrt(var.clamp(min=1e-6))
        return torch.cat([mean, std], dim=-1).reshape(x.shape[0], -1), weights


def pooled_lengths(lengths: torch.Tensor, stride: int) -> torch.Tensor:
    """Frames left after ``stride``-fold max-pooling in time (floor, at least 1)."""
    if stride == 1:
        return lengths
    return torch.clamp(torch.div(lengths, stride, rounding_mode="floor"), min=1)


def masked_mean(x: torch.Tensor, mask: Optional[torch.Tensor]) -> torch.Tensor:
    if mask is None:
        return x.mean(dim=1)
    m = mask.unsqueeze(-1).to(x.dtype)
    return (x * m).sum(1) / m.sum(1).clamp(min=1)

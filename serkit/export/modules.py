"""Export-friendly forms of serkit's models and front end, numerically equal to the originals.

Three changes make a model traceable into a graph that accepts any batch size and length:

* :class:`MaskedBiRNN` replaces the packed bidirectional RNN (``pack_padded_sequence`` moves
  lengths to the CPU and builds data-dependent batch sizes, which neither tracer nor ONNX can
  express). Each direction runs as a plain RNN; the backward one over each utterance reversed
  *within its length* (a gather), so padding never enters its state, exactly as with packing.
* :class:`FeaturePosteriors` zeroes the frames past each utterance's length before the model
  and ends in a softmax: a padded utterance then gives what it gives alone (training also pads
  with zeros), and ``lengths`` is a graph input for every model.
* :class:`ConvLogMel` computes :class:`serkit.feats.frontends.LogMel` with the DFT as a strided
  Conv1d over the windowed frames (``torch.fft`` has no TorchScript-exporter ONNX symbolic);
  it matches ``LogMel`` to about 1e-5 in the log domain.
"""
from __future__ import annotations

import copy
import math
from typing import Optional, Tuple

import torch
from torch import nn

from serkit.feats.frontends import LogMel
from serkit.models.layers import RecurrentEncoder, lengths_to_mask


def reverse_within(x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """``x [B, T, D]`` with each row's first ``lengths[b]`` frames reversed; padding stays put."""
    t = torch.arange(x.shape[1], device=x.device)[None, :]
    n = lengths[:, None]
    index = torch.where(t < n, n - 1 - t, t)
    return torch.gather(x, 1, index.unsqueeze(-1).expand(-1, -1, x.shape[2]))


class MaskedBiRNN(nn.Module):
    """A trained bidirectional, batch-first ``nn.LSTM``/``nn.GRU`` as per-direction RNNs over
    masked, length-reversed sequences: the same outputs as the packed original, zeros on padding."""

    def __init__(self, rnn: nn.RNNBase) -> None:
        super().__init__()
        if not (rnn.bidirectional and rnn.batch_first):
            raise ValueError("MaskedBiRNN converts bidirectional batch-first RNNs only")
        cls = type(rnn)
        self.forward_rnns, self.backward_rnns = nn.ModuleList(), nn.ModuleList()
        for layer in range(rnn.num_layers):
            size = rnn.input_size if layer == 0 else 2 * rnn.hidden_size
            for suffix, target in (("", self.forward_rnns), ("_reverse", self.backward_rnns)):
                single = cls(size, rnn.hidden_size, batch_first=True, bias=rnn.bias)
                for name in ("weight_ih", "weight_hh") + (("bias_ih", "bias_hh") if rnn.bias else ()):
                    getattr(single, f"{name}_l0").data.copy_(getattr(rnn, f"{name}_l{layer}{suffix}").data)
                target.append(single)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        mask = lengths_to_mask(lengths, x.shape[1]).unsqueeze(-1).to(x.dtype)
        for fw, bw in zip(self.forward_rnns, self.backward_rnns):
            ahead, _ = fw(x)
            back, _ = bw(reverse_within(x, lengths))
            x = torch.cat([ahead, reverse_within(back, lengths)], dim=-1) * mask
        return x


class ExportableEncoder(nn.Module):
    """Drop-in for :class:`serkit.models.layers.RecurrentEncoder` built on :class:`MaskedBiRNN`."""

    def __init__(self, encoder: RecurrentEncoder) -> None:
        super().__init__()
        self.rnn = MaskedBiRNN(encoder.rnn)
        self.out_dim = encoder.out_dim

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        return self.rnn(x, lengths)


def deployable(model: nn.Module) -> nn.Module:
    """An eval-mode copy of ``model`` whose recurrent encoders are export-friendly."""
    model = copy.deepcopy(model).eval()
    for name, child in list(model.named_modules()):
        if isinstance(child, RecurrentEncoder):
            parent = model.get_submodule(name.rsplit(".", 1)[0]) if "." in name else model
            setattr(parent, name.rsplit(".", 1)[-1], ExportableEncoder(child))
    return model


class FeaturePosteriors(nn.Module):
    """``(feats [B, T, D], lengths [B]) -> posteriors [B, classes]`` (frames past a length zeroed)."""

    def __init__(self, model: nn.Module, convert: bool = True) -> None:
        super().__init__()
        self.model = deployable(model) if convert else model

    def forward(self, feats: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        lengths = lengths.clamp(min=1)
        mask = lengths_to_mask(lengths, feats.shape[1]).unsqueeze(-1).to(feats.dtype)
        return torch.softmax(self.model(feats * mask, lengths), dim=-1)


class ConvLogMel(nn.Module):
    """:class:`LogMel` with the windowed real DFT as a strided Conv1d (exportable, same frames)."""

    def __init__(self, logmel: LogMel) -> None:
        super().__init__()
        n_fft = logmel.config.n_fft
        self.bins = n_fft // 2 + 1
        self.hop, self.win = logmel.hop, logmel.win
        n = torch.arange(logmel.win, dtype=torch.float64)
        k = torch.arange(self.bins, dtype=torch.float64)
        angle = 2 * math.pi * k[:, None] * n[None, :] / n_fft
        window = logmel.window.to(torch.float64)
        basis = torch.cat([torch.cos(angle) * window, -torch.sin(angle) * window])  # [2 * bins, win]
        self.register_buffer("basis", basis.to(torch.float32).unsqueeze(1))
        self.register_buffer("mel_fb", logmel.mel_fb.clone())
        self.log_floor = logmel.log_floor

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        spec = nn.functional.conv1d(wave.unsqueeze(1), self.basis, stride=self.hop)  # [B, 2 * bins, frames]
        real, imag = spec[:, : self.bins], spec[:, self.bins:]
        power = (real * real + imag * imag).transpose(1, 2)
        return torch.log(power @ self.mel_fb + self.log_floor)


class WaveformPosteriors(nn.Module):
    """End to end: waveform ``[B, samples]`` in [-1, 1] (+ sample lengths) -> log-mel -> CMVN ->
    model -> softmax. The global CMVN stats are buffers, used when no per-call stats are given."""

    def __init__(
        self, logmel: LogMel, model: nn.Module, mean: torch.Tensor, std: torch.Tensor, for_export: bool = False
    ) -> None:
        super().__init__()
        self.frontend = ConvLogMel(logmel) if for_export else logmel
        self.win, self.hop = logmel.win, logmel.hop
        self.register_buffer("cmvn_mean", torch.as_tensor(mean, dtype=torch.float32).clone())
        self.register_buffer("cmvn_std", torch.as_tensor(std, dtype=torch.float32).clone())
        self.posteriors = FeaturePosteriors(model, convert=for_export)

    def frame_lengths(self, wave_lengths: torch.Tensor) -> torch.Tensor:
        """Frames of each utterance: ``1 + (samples - win) // hop`` (at least 1)."""
        return torch.clamp(torch.div(wave_lengths - self.win, self.hop, rounding_mode="floor") + 1, min=1)

    def forward(
        self, waveform: torch.Tensor, wave_lengths: torch.Tensor,
        cmvn_mean: Optional[torch.Tensor] = None, cmvn_std: Optional[torch.Tensor] = None,
    ) -> torch.Tensor:
        feats = self.frontend(waveform)
        mean = self.cmvn_mean if cmvn_mean is None else cmvn_mean
        std = self.cmvn_std if cmvn_std is None else cmvn_std
        return self.posteriors((feats - mean) / std, self.frame_lengths(wave_lengths))


@torch.no_grad()
def probe_model(model: nn.Module, input_dim: int, max_frames: int = 64) -> Tuple[int, bool]:
    """``(min_frames, padding_invariant)``: the fewest frames the model accepts, and whether a
    zero-padded utterance in a batch gets the posteriors it gets alone (False for models that
    ignore ``lengths``, such as seed_crnn: batch those one utterance at a time)."""
    net = FeaturePosteriors(model, convert=False).eval()
    min_frames = 0
    for frames in range(1, max_frames + 1):
        try:
            net(torch.zeros(1, frames, input_dim), torch.tensor([frames]))
        except RuntimeError:
            continue
        min_frames = frames
        break
    if not min_frames:
        raise ValueError(f"the model accepts no input of up to {max_frames} frames")
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(1, 40 + min_frames, input_dim, generator=gen)
    alone = net(x, torch.tensor([x.shape[1]]))
    padded = net(torch.cat([x, torch.zeros(1, 24, input_dim)], dim=1), torch.tensor([x.shape[1]]))
    return min_frames, bool((alone - padded).abs().max() < 1e-5)

"""Spectral subtraction, the design's suggestion for noisy input, as an optional step before
feature extraction (``denoise:`` in conf/feats.yaml; off by default).

Power spectral subtraction (Berouti et al., 1979): with ``Y`` the noisy STFT and ``N`` a noise
power estimate per frequency, the clean power is ``max(|Y|^2 - alpha * N, beta * N)``; the noisy
phase is kept and the signal resynthesised by overlap-add. The noise is estimated from the
quietest frames (a low quantile of frame energy), which needs no leading silence, or from the
first ``leading_ms`` of the signal.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch


@dataclass
class DenoiseConfig:
    enabled: bool = False
    over_subtraction: float = 2.0  # alpha: how much of the noise estimate to subtract
    spectral_floor: float = 0.02  # beta: floor, as a fraction of the noise power (limits musical noise)
    noise_estimate: str = "quantile"  # quantile | leading
    noise_quantile: float = 0.1  # with "quantile": frames in the lowest 10% of energy estimate the noise
    leading_ms: float = 120.0  # with "leading": the first 120 ms are noise
    frame_length: float = 32.0  # ms (512 samples at 16 kHz)
    frame_shift: float = 8.0  # ms

    def __post_init__(self) -> None:
        if self.noise_estimate not in ("quantile", "leading"):
            raise ValueError(f"denoise.noise_estimate '{self.noise_estimate}' is not quantile or leading")
        if self.over_subtraction < 0 or not 0 <= self.spectral_floor < 1:
            raise ValueError("denoise: over_subtraction must be >= 0 and spectral_floor in [0, 1)")
        if not 0 < self.noise_quantile < 1:
            raise ValueError("denoise.noise_quantile must be in (0, 1)")


def spectral_subtraction(samples: np.ndarray, sample_rate: int, config: DenoiseConfig) -> np.ndarray:
    """Denoised copy of ``samples`` (same length)."""
    win = int(round(sample_rate * config.frame_length / 1000))
    hop = int(round(sample_rate * config.frame_shift / 1000))
    if len(samples) < win:
        return samples
    x = torch.from_numpy(np.ascontiguousarray(samples, dtype=np.float32))
    window = torch.hann_window(win)
    spec = torch.stft(x, n_fft=win, hop_length=hop, window=window, return_complex=True)  # [freq, frames]
    power = spec.abs().pow(2)
    if config.noise_estimate == "leading":
        frames = max(1, int(config.leading_ms / config.frame_shift))
        noise = power[:, :frames].mean(dim=1, keepdim=True)
    else:
        energy = power.sum(dim=0)
        quiet = energy <= torch.quantile(energy, config.noise_quantile)
        noise = power[:, quiet].mean(dim=1, keepdim=True)
    clean = torch.maximum(power - config.over_subtraction * noise, config.spectral_floor * noise)
    spec = spec * torch.sqrt(clean / power.clamp(min=1e-20))
    out = torch.istft(spec, n_fft=win, hop_length=hop, window=window, length=len(samples))
    return out.numpy().astype(np.float32)

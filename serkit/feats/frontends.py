"""Feature front ends, selected by ``feat_type`` from one registry (:data:`FRONTENDS`).

``fbank``, ``mfcc`` and ``spectrogram`` are Kaldi's (torchaudio.compliance.kaldi, option names
as in Kaldi); they see samples on the 16-bit integer scale, as Kaldi binaries do, so their
values match Kaldi's. ``logmel`` is the design's 128-bin log-mel spectrogram over 25 ms Hamming
windows with a 10 ms shift; it is an ``nn.Module`` so that it can go into an exported model.
"""
from __future__ import annotations

import dataclasses
import warnings
from typing import Callable, Dict

import numpy as np
import torch
import torchaudio
import torchaudio.compliance.kaldi as kaldi

from serkit.errors import AudioError, ConfigError
from serkit.feats.config import FeatureConfig, LogMelConfig
from serkit.feats.denoise import spectral_subtraction

INT16_SCALE = 32768.0


class LogMel(torch.nn.Module):
    """Waveform ``[batch, samples]`` in [-1, 1] -> log-mel ``[batch, frames, bins]``."""

    def __init__(self, config: LogMelConfig, sample_rate: int) -> None:
        super().__init__()
        self.config = config
        win = int(round(sample_rate * config.frame_length / 1000))
        self.hop = int(round(sample_rate * config.frame_shift / 1000))
        self.win = win
        if config.n_fft < win:
            raise ConfigError(f"logmel: n_fft {config.n_fft} is shorter than the window ({win} samples)")
        high = config.high_freq if config.high_freq > 0 else sample_rate / 2 + config.high_freq
        self.register_buffer("window", torch.hamming_window(win, periodic=False))
        with warnings.catch_warnings():  # empty filters get our own error below
            warnings.simplefilter("ignore", UserWarning)
            fb = torchaudio.functional.melscale_fbanks(
                config.n_fft // 2 + 1, config.low_freq, high, config.num_mel_bins, sample_rate, norm=None,
                mel_scale=config.mel_scale,
            )
        if bool((fb.sum(0) == 0).any()):
            raise ConfigError(
                f"logmel: {config.num_mel_bins} mel bins over {config.low_freq:g}-{high:g} Hz leave some filters "
                f"empty with n_fft {config.n_fft}; raise n_fft or lower num_mel_bins"
            )
        self.register_buffer("mel_fb", fb)  # [freq, mel]
        self.log_floor = config.log_floor

    def power(self, wave: torch.Tensor) -> torch.Tensor:
        """Mel power ``[batch, frames, bins]`` (before the log)."""
        frames = wave.unfold(-1, self.win, self.hop) * self.window  # [batch, frames, win]
        return torch.fft.rfft(frames, n=self.config.n_fft).abs().pow(2) @ self.mel_fb

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        return torch.log(self.power(wave) + self.log_floor)


class Frontend:
    """A front end: ``frontend(samples) -> [frames, dim]`` float32 numpy array, for mono float32
    samples in [-1, 1] at the config's rate (spectral subtraction first when the config asks)."""

    frames_independent = True  # each frame from its own window of samples (streaming may compute chunk by chunk)

    def __init__(self, config: FeatureConfig) -> None:
        self.feat_type = config.feat_type
        self.config = getattr(config, config.feat_type)  # this front end's section
        self.sample_rate = config.sample_rate
        self.denoise = config.denoise if config.denoise.enabled else None
        self.frame_length = int(round(self.sample_rate * self.config.frame_length / 1000))

    def compute(self, samples: np.ndarray) -> torch.Tensor:
        raise NotImplementedError

    def __call__(self, samples: np.ndarray) -> np.ndarray:
        if len(samples) < self.frame_length:
            raise AudioError(
                f"audio is {len(samples) / self.sample_rate * 1000:.0f} ms long, shorter than one "
                f"{self.config.frame_length:g} ms frame"
            )
        if self.denoise is not None:
            samples = spectral_subtraction(samples, self.sample_rate, self.denoise)
        with torch.no_grad():
            feats = self.compute(samples)
        return feats.numpy().astype(np.float32, copy=False)

    @property
    def dim(self) -> int:
        return int(self(np.zeros(self.frame_length, dtype=np.float32)).shape[1])


class KaldiFrontend(Frontend):
    """Kaldi's fbank, MFCC or spectrogram (torchaudio.compliance.kaldi), on the 16-bit scale."""

    def __init__(self, config: FeatureConfig, fn: Callable) -> None:
        super().__init__(config)
        self.fn = fn

    def compute(self, samples: np.ndarray) -> torch.Tensor:
        wave = torch.from_numpy(samples).unsqueeze(0) * INT16_SCALE
        return self.fn(wave, sample_frequency=float(self.sample_rate), **dataclasses.asdict(self.config))


class LogMelFrontend(Frontend):
    def __init__(self, config: FeatureConfig) -> None:
        super().__init__(config)
        self.logmel = LogMel(self.config, self.sample_rate)

    def compute(self, samples: np.ndarray) -> torch.Tensor:
        return self.logmel(torch.from_numpy(samples).unsqueeze(0))[0]


class PcenFrontend(LogMelFrontend):
    """Mel power through per-channel energy normalisation (:class:`serkit.feats.config.PcenConfig`).
    The smoother carries state from frame to frame, from the first frame of the audio: streaming
    computes each window's features from the window's own audio, as for a file of that span."""

    frames_independent = False

    def compute(self, samples: np.ndarray) -> torch.Tensor:
        from scipy.signal import lfilter

        c = self.config
        energy = self.logmel.power(torch.from_numpy(samples).unsqueeze(0))[0].double().numpy() * c.power_scale
        t = c.time_constant * self.sample_rate / self.logmel.hop  # the time constant in frames
        b = (np.sqrt(1 + 4 * t ** 2) - 1) / (2 * t ** 2)
        smooth, _ = lfilter([b], [1, b - 1], energy, axis=0, zi=energy[:1] * (1 - b))  # starts at the first frame
        out = (energy / (c.eps + smooth) ** c.alpha + c.delta) ** c.r - c.delta ** c.r
        return torch.from_numpy(out.astype(np.float32))


class LogMelProsodyFrontend(LogMelFrontend):
    """Log-mel, then openSMILE's prosody / voice-quality descriptors of the same frames
    (:class:`serkit.feats.config.LogMelProsodyConfig`)."""

    frames_independent = False  # pitch over 60 ms windows, smoothing over 3 frames

    def __init__(self, config: FeatureConfig) -> None:
        super().__init__(config)
        from serkit.feats.prosody import OpenSmileLLD

        self.lld = OpenSmileLLD(self.config.lld_set, self.sample_rate)

    def compute(self, samples: np.ndarray) -> torch.Tensor:
        logmel = super().compute(samples)
        lld = self.lld(samples, logmel.shape[0])
        return torch.cat([logmel, torch.from_numpy(lld)], dim=1)


# The front ends by feat_type: one per section of FeatureConfig (tests/test_feats.py checks both agree).
FRONTENDS: Dict[str, Callable[[FeatureConfig], Frontend]] = {
    "fbank": lambda config: KaldiFrontend(config, kaldi.fbank),
    "mfcc": lambda config: KaldiFrontend(config, kaldi.mfcc),
    "spectrogram": lambda config: KaldiFrontend(config, kaldi.spectrogram),
    "logmel": LogMelFrontend,
    "pcen": PcenFrontend,
    "logmel_prosody": LogMelProsodyFrontend,
}


def build_frontend(config: FeatureConfig) -> Frontend:
    """The front end ``config`` describes (its ``feat_type`` section, its sample rate, denoising)."""
    if config.feat_type not in FRONTENDS:
        raise ConfigError(f"feat_type '{config.feat_type}' has no front end; known: {', '.join(FRONTENDS)}")
    return FRONTENDS[config.feat_type](config)

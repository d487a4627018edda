"""Frame-level prosody and voice quality from openSMILE (the ``logmel_prosody`` front end).

openSMILE's low-level descriptors of eGeMAPS (Eyben et al. 2016): F0 in semitones, loudness,
jitter, shimmer, HNR, harmonic differences H1-H2 and H1-A3, formants F1-F3 with bandwidths and
amplitudes, alpha ratio, Hammarberg index, spectral slopes and flux, MFCC 1-4; one row every
10 ms. What a log-mel spectrogram shows only implicitly (the pitch track and the voice's
quality), from a maintained library rather than hand-written DSP. Needs the ``baseline`` extra
(``tools/install.sh --extras baseline``), as the openSMILE + SVM baseline does.
"""
from __future__ import annotations

import warnings

import numpy as np

from serkit.errors import ConfigError

LLD_SETS = ("eGeMAPSv02", "GeMAPSv01b", "ComParE_2016")


class OpenSmileLLD:
    """``lld(samples) -> [frames, dim]`` float32: the descriptors of ``lld_set``, one row per 10 ms
    frame from the start of the audio, fitted to ``frames`` rows (the last row repeated, or rows
    dropped at the end) so they line up with another front end's frames. Undefined values
    (openSMILE's NaN for a segment too short to measure) are 0: F0, jitter and shimmer are 0 in
    unvoiced frames already, which is openSMILE's own convention."""

    def __init__(self, lld_set: str, sample_rate: int) -> None:
        if lld_set not in LLD_SETS:
            raise ConfigError(f"logmel_prosody: lld_set '{lld_set}' is not one of {', '.join(LLD_SETS)}")
        try:
            import opensmile
        except ImportError:
            raise ConfigError(
                "feat_type logmel_prosody needs openSMILE: install the baseline extra "
                "(tools/install.sh --extras baseline, or pip install -e .[baseline])"
            ) from None
        self.smile = opensmile.Smile(
            feature_set=getattr(opensmile.FeatureSet, lld_set), feature_level=opensmile.FeatureLevel.LowLevelDescriptors
        )
        self.sample_rate = sample_rate
        self.names = list(self.smile.feature_names)

    @property
    def dim(self) -> int:
        return len(self.names)

    def __call__(self, samples: np.ndarray, frames: int) -> np.ndarray:
        with warnings.catch_warnings():  # "Segment too short, filling with NaN": handled below
            warnings.simplefilter("ignore", UserWarning)
            lld = self.smile.process_signal(samples, self.sample_rate).to_numpy(dtype=np.float32)
        lld = np.nan_to_num(lld, nan=0.0, posinf=0.0, neginf=0.0)
        if len(lld) == 0:
            return np.zeros((frames, self.dim), dtype=np.float32)
        if len(lld) < frames:
            lld = np.concatenate([lld, np.repeat(lld[-1:], frames - len(lld), axis=0)])
        return lld[:frames]

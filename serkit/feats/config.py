"""Feature configuration (``conf/feats.yaml``): one section of options per front end.

Kept free of torch so that reading and checking a config is instant;
``serkit.feats.frontends.build_frontend(config)`` makes the front end a config describes.
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields

from serkit.feats.denoise import DenoiseConfig
from serkit.utils.config import from_dict, load_yaml


@dataclass
class KaldiFrameConfig:
    """Framing options shared by Kaldi's front ends (names as in Kaldi, minus dashes)."""

    frame_length: float = 25.0  # ms
    frame_shift: float = 10.0  # ms
    dither: float = 0.0  # Kaldi's default is 1.0; 0 keeps features on disk deterministic
    preemphasis_coefficient: float = 0.97
    window_type: str = "povey"
    remove_dc_offset: bool = True
    snip_edges: bool = True
    energy_floor: float = 0.0

    def __post_init__(self) -> None:
        if self.frame_length <= 0 or self.frame_shift <= 0:
            raise ValueError("frame_length and frame_shift must be positive (milliseconds)")
        if self.window_type not in ("povey", "hamming", "hanning", "rectangular", "blackman"):
            raise ValueError(f"window_type '{self.window_type}' is not povey|hamming|hanning|rectangular|blackman")


@dataclass
class FbankConfig(KaldiFrameConfig):
    num_mel_bins: int = 80
    low_freq: float = 20.0
    high_freq: float = 0.0  # <= 0: offset from Nyquist
    use_energy: bool = False


@dataclass
class MfccConfig(KaldiFrameConfig):
    num_mel_bins: int = 23
    num_ceps: int = 13
    cepstral_lifter: float = 22.0
    low_freq: float = 20.0
    high_freq: float = 0.0
    use_energy: bool = True


@dataclass
class SpectrogramConfig(KaldiFrameConfig):
    pass


@dataclass
class LogMelConfig:
    num_mel_bins: int = 128
    frame_length: float = 25.0  # ms, Hamming window
    frame_shift: float = 10.0  # ms
    n_fft: int = 1024  # zero-padded window: with 512 points some of 128 filters would be empty
    low_freq: float = 20.0
    high_freq: float = 0.0  # <= 0: offset from Nyquist
    mel_scale: str = "slaney"  # as librosa, which the design names; or "htk"
    log_floor: float = 1e-6  # added to mel power (samples in [-1, 1]) before the log

    def __post_init__(self) -> None:
        if self.num_mel_bins < 1 or self.n_fft < 2:
            raise ValueError("num_mel_bins and n_fft must be positive")
        if self.log_floor <= 0:
            raise ValueError("log_floor must be > 0")
        if self.mel_scale not in ("slaney", "htk"):
            raise ValueError(f"mel_scale '{self.mel_scale}' is not slaney or htk")


@dataclass
class PcenConfig(LogMelConfig):
    """Per-channel energy normalisation of the mel power (Wang et al. 2017, as librosa.pcen): each
    bin divided by a smoothed version of itself (automatic gain control), then root-compressed,
    ``(E / (eps + M)^alpha + delta)^r - delta^r``, ``M`` an IIR smoother with ``time_constant``.
    Less sensitive to level and to stationary noise than log-mel + CMVN. The mel power of samples
    in [-1, 1] is scaled by ``power_scale`` first (librosa's 2^31 on the magnitude)."""

    alpha: float = 0.98
    delta: float = 2.0
    r: float = 0.5
    time_constant: float = 0.4  # seconds
    eps: float = 1e-6
    power_scale: float = 2.0 ** 62

    def __post_init__(self) -> None:
        super().__post_init__()
        if not 0 < self.alpha <= 1 or self.delta < 0 or not 0 < self.r <= 1 or self.time_constant <= 0:
            raise ValueError("pcen: alpha in (0, 1], delta >= 0, r in (0, 1], time_constant > 0")


@dataclass
class LogMelProsodyConfig(LogMelConfig):
    """Log-mel with frame-level prosody and voice quality appended: each frame's ``num_mel_bins``
    log-mel values, then openSMILE's low-level descriptors of ``lld_set`` for that 10 ms frame
    (:mod:`serkit.feats.prosody`; eGeMAPSv02: 25 of them), as Kaldi appends pitch to MFCCs. A
    model reads the appended columns as a stream of their own (parallel_crnn ``prosody_dim``)."""

    lld_set: str = "eGeMAPSv02"

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.frame_shift != 10.0:
            raise ValueError("logmel_prosody: openSMILE's descriptors come every 10 ms; keep frame_shift: 10.0")


@dataclass
class FeatureConfig:
    """``conf/feats.yaml``: the chosen ``feat_type`` and one section of options per type."""

    feat_type: str = "logmel"
    sample_rate: int = 16000
    fbank: FbankConfig = field(default_factory=FbankConfig)
    mfcc: MfccConfig = field(default_factory=MfccConfig)
    spectrogram: SpectrogramConfig = field(default_factory=SpectrogramConfig)
    logmel: LogMelConfig = field(default_factory=LogMelConfig)
    pcen: PcenConfig = field(default_factory=PcenConfig)
    logmel_prosody: LogMelProsodyConfig = field(default_factory=LogMelProsodyConfig)
    denoise: DenoiseConfig = field(default_factory=DenoiseConfig)  # spectral subtraction, before the front end

    def __post_init__(self) -> None:
        if self.feat_type not in FEAT_TYPES:
            raise ValueError(f"feat_type '{self.feat_type}' is not one of {', '.join(FEAT_TYPES)}")
        if self.sample_rate < 1000:
            raise ValueError(f"sample_rate {self.sample_rate} is not a plausible audio rate")


# Every front end has a section of its own (serkit.feats.frontends.FRONTENDS computes them).
FEAT_TYPES = tuple(f.name for f in fields(FeatureConfig) if f.name not in ("feat_type", "sample_rate", "denoise"))


def load_feature_config(path=None, feat_type: str = "") -> FeatureConfig:
    """Read ``conf/feats.yaml`` (or defaults when ``path`` is None); ``feat_type`` overrides."""
    data = load_yaml(path) if path else {}
    if feat_type:
        data["feat_type"] = feat_type
    return from_dict(FeatureConfig, data)

"""The ``data:`` section of a training config: batching, cropping, balancing, online augmentation
and transcripts. Free of torch, so that a config loads and is checked at once."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import List

from serkit.text.tokenizer import TextConfig

BALANCE = ("none", "sampler", "loss", "corpus", "corpus_class")
CORPUS_BALANCE = ("corpus", "corpus_class")  # these need utt2corpus in the training data


@dataclass
class SpecAugmentConfig:
    enabled: bool = True
    freq_masks: int = 2
    freq_width: int = 12  # widest frequency mask, in bins
    time_masks: int = 2
    time_width: int = 20  # widest time mask, in frames
    # frequency masks stay below this feature column (0: anywhere); features with columns appended
    # to the spectrum (logmel_prosody) set it to the number of mel bins
    max_bin: int = 0

    def __post_init__(self) -> None:
        if min(self.freq_masks, self.freq_width, self.time_masks, self.time_width, self.max_bin) < 0:
            raise ValueError("spec_augment counts and widths must be >= 0")


@dataclass
class NoiseConfig:
    """Online noise mixing in the log-power feature domain (logmel, fbank, spectrogram):
    ``log(exp(x) + g * exp(n))`` with ``g`` set for a random SNR from ``snrs``."""

    enabled: bool = False
    data: str = ""  # data directory of noise recordings with feats.scp (utils/prepare_noise_dir.sh + make_feats.sh)
    snrs: List[float] = field(default_factory=lambda: [20.0, 15.0, 10.0, 5.0, 0.0])
    prob: float = 0.5  # share of training crops that get noise
    # Re-estimate the crop's CMVN for the noisy speech (the speaker's mean and std moved by what the
    # noise did to this crop), as a noisy test set's per-speaker CMVN is computed on its noisy speech;
    # false keeps the clean speaker's statistics (a train/test mismatch under noise).
    follow_cmvn: bool = False

    def __post_init__(self) -> None:
        if self.enabled and not self.data:
            raise ValueError("noise.enabled needs noise.data, a data directory of noise features")
        if not 0.0 <= self.prob <= 1.0:
            raise ValueError("noise.prob must be in [0, 1]")


@dataclass
class ReverbConfig:
    """Online reverberation in the log-power feature domain: each frame's power gets an exponentially
    decaying tail of the frames before it, ``P'(t) = P(t) + sum_k a rho^k P(t - k)`` with ``rho`` from
    an RT60 drawn from ``rt60s`` (60 dB of decay over RT60) and ``a`` from a direct-to-reverberant
    ratio drawn from ``drr_db``. A frequency-flat approximation of a room (the test sets use
    waveform reverberation, serkit.augment.waveform.reverberate, so the mismatch is measured)."""

    enabled: bool = False
    rt60s: List[float] = field(default_factory=lambda: [0.3, 0.5, 0.7, 0.9])
    drr_db: List[float] = field(default_factory=lambda: [0.0, 10.0])  # uniform in [low, high]
    prob: float = 0.3  # share of training crops that get reverberation
    frame_shift: float = 10.0  # ms between feature frames (the features' frame_shift)
    follow_cmvn: bool = False  # as NoiseConfig.follow_cmvn, for the reverberated speech

    def __post_init__(self) -> None:
        if not 0.0 <= self.prob <= 1.0:
            raise ValueError("reverb.prob must be in [0, 1]")
        if not self.rt60s or min(self.rt60s) <= 0:
            raise ValueError("reverb.rt60s must be positive seconds")
        if len(self.drr_db) != 2 or self.drr_db[0] > self.drr_db[1]:
            raise ValueError("reverb.drr_db must be [low, high] in dB")
        if self.frame_shift <= 0:
            raise ValueError("reverb.frame_shift must be positive (ms)")


@dataclass
class DataConfig:
    batch_size: int = 16
    eval_batch_size: int = 8  # whole utterances: on a CPU, 8 at a time evaluated 3x faster than 32 (EmoDB dev)
    max_frames: int = 300  # random crop length for training; 0 keeps whole utterances
    bucket_size: int = 8  # batches per length-sorted bucket
    cmvn: bool = True  # apply the data directory's cmvn.scp
    norm_vars: bool = True
    # none | sampler (class-balanced sampling) | loss (class weights) | corpus (each corpus of pooled
    # data an equal share of the draws) | corpus_class (that, and each class an equal share within its corpus)
    balance: str = "none"
    spec_augment: SpecAugmentConfig = field(default_factory=SpecAugmentConfig)
    noise: NoiseConfig = field(default_factory=NoiseConfig)
    reverb: ReverbConfig = field(default_factory=ReverbConfig)
    text: TextConfig = field(default_factory=TextConfig)  # transcripts for the text and fusion models

    def __post_init__(self) -> None:
        if self.balance not in BALANCE:
            raise ValueError(f"balance '{self.balance}' is not one of {', '.join(BALANCE)}")
        if self.batch_size < 1 or self.eval_batch_size < 1 or self.bucket_size < 1:
            raise ValueError("batch sizes and bucket_size must be >= 1")
        if self.max_frames < 0:
            raise ValueError("max_frames must be >= 0")

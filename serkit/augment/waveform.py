"""Waveform perturbations for offline augmentation: speed, additive noise, reverberation.

Pure functions on mono float32 numpy audio in [-1, 1], on numpy, scipy and soxr only: a
``wav_perturb`` pipe starts without paying for a torch import.
"""
from __future__ import annotations

import logging
import math
from typing import Optional

import numpy as np

from serkit.errors import SerkitError

logger = logging.getLogger(__name__)

# Highest absolute sample value written: leaves headroom below 16-bit full scale (32767/32768).
PEAK_LIMIT = 0.999
# Below this mean power (RMS 1e-5, -100 dBFS: under one 16-bit step) an utterance counts as silent.
SILENCE_POWER = 1e-10


def speed_perturb(samples: np.ndarray, sample_rate: int, factor: float) -> np.ndarray:
    """Play ``samples`` ``factor`` times faster: duration becomes ``1/factor`` of the original.

    This is Kaldi's (sox ``speed``) speed perturbation: the signal is resampled as if it had been
    recorded at ``factor * sample_rate``, so duration AND pitch change together (0.9 lowers every
    frequency by 10 %). Pitch carries emotion (arousal raises F0), so whether and how much to
    perturb is a recipe decision: keep the factor list a recipe option, not a constant.

    It is what ``torchaudio.functional.speed`` computes (band-limited resampling from
    ``factor * rate`` to ``rate``), with serkit's resampler (soxr) and the source rate *rounded*:
    ``speed`` truncates ``int(factor * rate)``, which turns 0.7 * 16000 into 11199 Hz.
    """
    if not factor > 0 or not math.isfinite(factor):
        raise SerkitError(f"speed factor must be a positive number, got {factor}")
    source_rate = int(round(factor * sample_rate))
    if source_rate == sample_rate:
        return np.asarray(samples, dtype=np.float32)
    from serkit.data.resample import resample

    return resample(np.asarray(samples, dtype=np.float32), source_rate, sample_rate)


def mix_noise(speech: np.ndarray, noise: np.ndarray, snr_db: float, offset_samples: int = 0) -> np.ndarray:
    """Add ``noise`` to ``speech`` at a signal-to-noise ratio of ``snr_db`` dB.

    The noise segment starts at ``offset_samples`` (taken modulo the noise length) and loops
    around the end of the noise when the noise is shorter than the speech. SNR is the ratio of
    whole-utterance mean powers (pauses included, as in Kaldi's and most augmentation recipes),
    so a sparse utterance gets relatively more noise in its voiced parts than a dense one.
    Silent speech (mean power below -100 dBFS) or silent noise leaves the speech unchanged,
    with a warning.
    """
    speech = np.asarray(speech, dtype=np.float32)
    noise = np.asarray(noise, dtype=np.float64)
    if len(noise) == 0:
        raise SerkitError("mix_noise: the noise recording has no samples")
    if not math.isfinite(snr_db):
        raise SerkitError(f"mix_noise: SNR must be a finite number of dB, got {snr_db}")
    index = (int(offset_samples) + np.arange(len(speech))) % len(noise)
    segment = noise[index]
    p_speech = float(np.mean(np.square(speech, dtype=np.float64))) if len(speech) else 0.0
    p_noise = float(np.mean(np.square(segment))) if len(segment) else 0.0
    if p_speech < SILENCE_POWER:
        logger.warning("mix_noise: the speech is silent (power %.1e); not adding noise", p_speech)
        return speech.copy()
    if p_noise < SILENCE_POWER:
        logger.warning("mix_noise: the noise segment at offset %d is silent; not adding noise", offset_samples)
        return speech.copy()
    gain = math.sqrt(p_speech / (p_noise * 10.0 ** (snr_db / 10.0)))
    return (speech + gain * segment).astype(np.float32)


def reverberate(samples: np.ndarray, rir: np.ndarray) -> np.ndarray:
    """Convolve with a room impulse response; same length, same RMS, no added delay.

    The output is aligned on the RIR's direct path (its largest absolute sample), so the
    propagation delay before the direct sound does not shift the speech; the reverberant tail
    past the end of the input is cut. The result is scaled back to the input's RMS level, so
    reverberation changes the sound, not the loudness (SNRs of a later ``mix_noise`` refer to
    the reverberant speech).
    """
    samples = np.asarray(samples, dtype=np.float32)
    rir = np.asarray(rir, dtype=np.float64)
    if len(rir) == 0 or not np.any(rir):
        raise SerkitError("reverberate: the room impulse response is empty or all zeros")
    if len(samples) == 0:
        return samples.copy()
    from scipy.signal import fftconvolve

    peak = int(np.argmax(np.abs(rir)))
    wet = fftconvolve(samples.astype(np.float64), rir)
    out = wet[peak:peak + len(samples)]
    rms_in = math.sqrt(float(np.mean(np.square(samples, dtype=np.float64))))
    rms_out = math.sqrt(float(np.mean(np.square(out))))
    if rms_out > 0 and rms_in > 0:
        out = out * (rms_in / rms_out)
    return out.astype(np.float32)


def simulated_rir(
    sample_rate: int,
    rt60: float,
    rng: np.random.Generator,
    *,
    duration: Optional[float] = None,
    drr_db: float = 3.0,
    early_reflections: int = 4,
    early_window: float = 0.04,
) -> np.ndarray:
    """A synthetic room impulse response with reverberation time ``rt60`` seconds.

    Method (a statistical model of late reverberation, after Polack): a unit direct-path impulse
    at sample 0, then Gaussian white noise under an exponential envelope whose energy falls by
    60 dB in ``rt60`` seconds (amplitude ``10 ** (-3 t / rt60)``). Optionally
    ``early_reflections`` sparse impulses of random sign in the first ``early_window`` seconds,
    under the same envelope. The tail (reflections included) is scaled so that the energy of
    the direct path over the rest is ``drr_db`` (direct-to-reverberant ratio), and the response
    is normalised to a direct path of 1.0, its largest sample. The length is ``duration`` (by
    default ``rt60``: the tail is then 60 dB down).

    Limits: there is no room geometry, so no image-source early-reflection pattern, no
    frequency-dependent absorption (real rooms decay faster at high frequencies) and no source
    directivity or microphone response. It varies reverberation time and DRR plausibly for
    augmentation; it does not reproduce a particular room. Use measured RIRs (``--rir-dir``)
    where that matters.
    """
    if not rt60 > 0 or not math.isfinite(rt60):
        raise SerkitError(f"simulated_rir: RT60 must be a positive number of seconds, got {rt60}")
    length = max(int(round((duration if duration is not None else rt60) * sample_rate)), 2)
    t = np.arange(length) / sample_rate
    envelope = 10.0 ** (-3.0 * t / rt60)
    tail = rng.standard_normal(length) * envelope
    tail[0] = 0.0
    last_early = min(int(early_window * sample_rate), length - 1)
    if early_reflections > 0 and last_early >= 1:
        where = rng.integers(1, last_early + 1, size=early_reflections)
        # a reflection is a few times stronger than the diffuse tail around it
        signs = rng.choice([-1.0, 1.0], size=early_reflections)
        tail[where] += signs * rng.uniform(3.0, 6.0, early_reflections) * envelope[where]
    tail *= math.sqrt(10.0 ** (-drr_db / 10.0) / float(np.sum(tail ** 2)))
    rir = tail
    rir[0] = 1.0
    biggest = float(np.max(np.abs(rir[1:])))
    if biggest >= 1.0:  # only with an extreme drr_db: keep the direct path the alignment peak
        rir[1:] *= 0.99 / biggest
    return rir.astype(np.float32)


def limit_peak(samples: np.ndarray, limit: float = PEAK_LIMIT) -> np.ndarray:
    """Scale down audio whose absolute peak exceeds ``limit`` so 16-bit output never clips."""
    samples = np.asarray(samples, dtype=np.float32)
    peak = float(np.max(np.abs(samples))) if len(samples) else 0.0
    if peak <= limit:
        return samples
    gain_db = 20 * math.log10(limit / peak)
    logger.info("peak %.3f above %.3f: scaling down by %.2f dB against clipping", peak, limit, gain_db)
    return (samples * (limit / peak)).astype(np.float32)


def to_pcm16(samples: np.ndarray) -> np.ndarray:
    """16-bit integers of ``samples``: ``round(x * 32768)``, clipped to the int16 range.

    Decoding divides by 32768 again, so ``to_pcm16(x) / 32768`` is exactly what a reader of the
    written WAV gets back.
    """
    return np.clip(np.round(np.asarray(samples, dtype=np.float64) * 32768.0), -32768, 32767).astype(np.int16)

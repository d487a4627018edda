"""Resampling of mono float32 audio with soxr, for any pair of rates: a whole signal at once, or
a stream block by block with the same result.

soxr's "high quality" recipe (libsoxr's SOXR_HQ, librosa's default): 20-bit precision, a
linear-phase filter whose passband ends at 91% of the lower Nyquist frequency. Measured on
8-96 kHz -> 16 kHz (tests/test_resample.py): a sine sweep within 90 dB SNR of the analytic
16 kHz sweep, tones above 8 kHz attenuated by more than 130 dB. Unlike a gcd-based polyphase
kernel, the cost does not depend on how the two rates relate: 24,414 Hz -> 16 kHz is as cheap as
48 kHz -> 16 kHz (bench/RESULTS.md).
"""
from __future__ import annotations

import numpy as np

from serkit.errors import AudioError

RESAMPLE_QUALITY = "HQ"
DEFAULT_SAMPLE_RATE = 16000  # the rate audio is read at unless a recipe's feature config says otherwise


def resample(samples: np.ndarray, rate: int, target_rate: int) -> np.ndarray:
    """``samples`` at ``rate`` resampled to ``target_rate`` (the same array when they are equal)."""
    if rate == target_rate:
        return samples
    import soxr

    if rate <= 0 or target_rate <= 0:
        raise AudioError(f"cannot resample from {rate} Hz to {target_rate} Hz")
    samples = np.ascontiguousarray(samples, dtype=np.float32)
    return soxr.resample(samples, rate, target_rate, quality=RESAMPLE_QUALITY)


class ChunkResampler:
    """Resampling of a stream that arrives in blocks (soxr's streaming resampler).

    The concatenated output of :meth:`push` and :meth:`flush` equals :func:`resample` of the
    whole stream, so a streamed file gives the same samples as the file read at once.
    """

    def __init__(self, orig: int, target: int) -> None:
        import soxr

        self.orig, self.target = orig, target
        self._stream = (
            soxr.ResampleStream(orig, target, 1, dtype="float32", quality=RESAMPLE_QUALITY) if orig != target else None
        )

    def push(self, samples: np.ndarray) -> np.ndarray:
        samples = np.ascontiguousarray(samples, dtype=np.float32)
        if self._stream is None:
            return samples
        return self._stream.resample_chunk(samples, last=False)

    def flush(self) -> np.ndarray:
        if self._stream is None:
            return np.zeros(0, np.float32)
        return self._stream.resample_chunk(np.zeros(0, np.float32), last=True)

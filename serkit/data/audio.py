"""Reading the audio a ``wav.scp`` entry names: a file, a pipe, or a Kaldi ark offset.

All audio leaves here as mono float32 in [-1, 1] at the requested sample rate: stereo is mixed
down, other rates are resampled with soxr (:mod:`serkit.data.resample`). Anything unreadable raises :class:`AudioError`
naming the entry and what to do; callers decide whether that is fatal or a counted skip.
"""
from __future__ import annotations

import functools
import io
import logging
import os
import re
import subprocess
from dataclasses import dataclass
from typing import Dict, Iterator, List, Optional, Tuple

import numpy as np
import soundfile as sf

from serkit.augment import perturb
from serkit.data.resample import DEFAULT_SAMPLE_RATE, resample
from serkit.errors import AudioError, SerkitError

logger = logging.getLogger(__name__)

# Audio quieter than this (RMS) is "silent": a model's posteriors for it mean nothing, and
# serkit-infer, serkit-stream and serkit.bin.predict flag it.
SILENCE_DBFS = -60.0
_ARK_OFFSET = re.compile(r"^(.+\.ark):(\d+)$")


# libsndfile's header log line for a WAV data chunk whose declared size is not what the file holds.
_WAV_DATA_SIZE = re.compile(r"^data\s*:\s*(\d+)\s*\(should be (\d+)\)", re.MULTILINE)
_STREAMED_SIZES = 0x7FFFF000  # sizes from here up (and 0) are placeholders of writers that did not know the length


def check_complete(handle: sf.SoundFile, frames_read: int, what: str) -> None:
    """Raise if the header promises more audio than the file holds (a truncated copy)."""
    declared = handle.frames
    match = _WAV_DATA_SIZE.search(handle.extra_info or "")
    if match:
        size, present = int(match.group(1)), int(match.group(2))
        if 0 < size < _STREAMED_SIZES and size > present:
            declared = size // (handle.channels * _bytes_per_sample(handle))
    if declared > frames_read:
        raise AudioError(
            f"{what}: truncated: the header declares {declared} samples but the file holds {frames_read}; "
            f"copy or export it again, or drop the utterance (utils/fix_data_dir.sh after removing it from wav.scp)"
        )


def _bytes_per_sample(handle: sf.SoundFile) -> int:
    sizes = {"PCM_S8": 1, "PCM_U8": 1, "PCM_16": 2, "PCM_24": 3, "PCM_32": 4, "FLOAT": 4, "DOUBLE": 8,
             "ULAW": 1, "ALAW": 1}
    return sizes.get(handle.subtype, 2)


def _decode_bytes(data: bytes, what: str) -> Tuple[np.ndarray, int]:
    if not data:
        raise AudioError(f"{what}: produced no bytes (empty file or a command that wrote nothing)")
    try:
        with sf.SoundFile(io.BytesIO(data)) as handle:
            samples = handle.read(dtype="float32", always_2d=True)
            check_complete(handle, len(samples), what)
            rate = handle.samplerate
    except (sf.LibsndfileError, RuntimeError, TypeError) as err:
        raise AudioError(f"{what}: not readable audio ({err}); soundfile reads WAV, FLAC and OGG") from None
    return samples, rate


def _run_pipe(command: str, what: str) -> bytes:
    proc = subprocess.run(["bash", "-c", command], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if proc.returncode != 0:
        tail = proc.stderr.decode("utf-8", "replace").strip().splitlines()[-3:]
        hint = ""
        if "serkit.bin." in command and "No module named" in " ".join(tail):
            hint = "; the 'python' on PATH is not serkit's: source the recipe's path.sh (puts tools/venv/bin first)"
        raise AudioError(
            f"{what}: command exited with status {proc.returncode}: {' / '.join(tail) or '(no stderr)'}{hint}"
        )
    return proc.stdout


# In-process fast path for augmentation pipes. Augmented data directories (serkit.augment)
# hold wav.scp entries like 'python -m serkit.bin.wav_perturb --speed 0.9 a.wav - |': valid
# shell pipes for Kaldi tools and anyone else, but a Python start per utterance when spawned.
# When the command is exactly one such command (perturb.command_argv), serkit computes it
# in-process and gets the very samples the command would write.
def _run_wav_perturb(argv: List[str], what: str) -> Optional[Tuple[np.ndarray, int]]:
    """The samples of a wav_perturb command; None when it reads stdin (only bash can feed it)."""
    try:
        p = perturb.parse(argv)
        if p.input == "-" or p.output != "-":
            return None
        samples, rate = perturb.apply(p, load_audio, _load_shared)
    except SerkitError as err:
        raise AudioError(f"{what}: wav_perturb failed: {err}") from None
    except SystemExit:  # --help: not a readable entry
        raise AudioError(f"{what}: wav_perturb did not produce audio (bad arguments?)") from None
    return samples.reshape(-1, 1), rate


@functools.lru_cache(maxsize=16)
def _load_shared(entry: str, rate: int, what: str) -> np.ndarray:
    """Noise recordings and RIRs are reused across utterances: read each once per process."""
    samples = load_audio(entry, rate, what)
    samples.setflags(write=False)
    return samples


def read_raw(entry: str, what: str = "") -> Tuple[np.ndarray, int]:
    """Decode a wav.scp value to ``(samples[frames, channels], rate)`` without conversion."""
    what = what or entry
    entry = entry.strip()
    if entry.endswith("|"):
        argv = perturb.command_argv(entry[:-1])
        fast = _run_wav_perturb(argv, what) if argv is not None else None
        if fast is not None:
            return fast
        return _decode_bytes(_run_pipe(entry[:-1], what), what)
    if not os.path.exists(entry):
        match = _ARK_OFFSET.match(entry)
        if match and os.path.exists(match.group(1)):
            import kaldiio

            try:
                rate, data = kaldiio.load_mat(entry)
            except Exception as err:  # kaldiio raises several types for a bad offset
                raise AudioError(f"{what}: cannot read wave from ark offset ({err})") from None
            data = np.asarray(data)
            scale = 32768.0 if data.dtype == np.int16 else 1.0
            return (data.astype(np.float32) / scale).reshape(len(data), -1), int(rate)
        raise AudioError(f"{what}: file '{entry}' does not exist; fix the path in wav.scp")
    try:
        with open(entry, "rb") as f:
            data = f.read()
    except OSError as err:
        raise AudioError(f"{what}: cannot open '{entry}' ({err.strerror})") from None
    return _decode_bytes(data, what)


def rms_dbfs(samples: np.ndarray) -> float:
    """RMS level in dB relative to full scale (-inf for no samples or digital silence)."""
    if len(samples) == 0:
        return float("-inf")
    rms = float(np.sqrt(np.mean(np.square(samples, dtype=np.float64))))
    return 20 * np.log10(rms) if rms > 0 else float("-inf")


def to_mono(samples: np.ndarray) -> np.ndarray:
    """Mix ``[frames, channels]`` down to one channel."""
    return samples[:, 0] if samples.shape[1] == 1 else samples.mean(axis=1)


def load_audio(entry: str, sample_rate: int = DEFAULT_SAMPLE_RATE, what: str = "") -> np.ndarray:
    """Mono float32 samples of a wav.scp value at ``sample_rate``."""
    what = what or entry
    samples, rate = read_raw(entry, what)
    return _to_mono_rate(samples, rate, sample_rate, what)


def decode_audio(data: bytes, sample_rate: int = DEFAULT_SAMPLE_RATE, what: str = "<bytes>") -> np.ndarray:
    """Mono float32 samples at ``sample_rate`` of an audio file's bytes (e.g. a WAV on stdin)."""
    samples, rate = _decode_bytes(data, what)
    return _to_mono_rate(samples, rate, sample_rate, what)


def _to_mono_rate(samples: np.ndarray, rate: int, sample_rate: int, what: str) -> np.ndarray:
    if samples.shape[0] == 0:
        raise AudioError(f"{what}: audio has zero samples; remove the utterance or re-record it")
    mono = to_mono(samples)
    if not np.all(np.isfinite(mono)):
        raise AudioError(f"{what}: audio contains NaN or infinite samples")
    return resample(mono, rate, sample_rate).astype(np.float32, copy=False)


@dataclass(frozen=True)
class Segment:
    recording: str
    start: float
    end: float  # seconds; -1 means to the end of the recording


class AudioLoader:
    """Load utterances of a data directory by id, honouring ``segments`` when present.

    ``wav_scp`` maps recording ids to wav.scp values; ``segments`` (optional) maps utterance ids
    to :class:`Segment`. The last recording read is kept, so iterating utterances in order reads
    each recording once.
    """

    def __init__(
        self,
        wav_scp: Dict[str, str],
        segments: Optional[Dict[str, Segment]] = None,
        sample_rate: int = DEFAULT_SAMPLE_RATE,
        where: str = "wav.scp",
    ) -> None:
        self.wav_scp = wav_scp
        self.segments = segments
        self.sample_rate = sample_rate
        self.where = where
        self._cache: Tuple[Optional[str], Optional[np.ndarray]] = (None, None)

    def utterances(self):
        return list(self.segments) if self.segments is not None else list(self.wav_scp)

    def _recording(self, reco: str, utt: str) -> np.ndarray:
        if self._cache[0] == reco:
            return self._cache[1]
        if reco not in self.wav_scp:
            raise AudioError(f"{self.where}: utterance '{utt}': recording '{reco}' has no wav.scp entry")
        samples = load_audio(self.wav_scp[reco], self.sample_rate, f"{self.where}: '{reco}'")
        self._cache = (reco, samples)
        return samples

    def load(self, utt: str) -> np.ndarray:
        if self.segments is None:
            return self._recording(utt, utt)
        if utt not in self.segments:
            raise AudioError(f"utterance '{utt}' is not in segments")
        seg = self.segments[utt]
        samples = self._recording(seg.recording, utt)
        begin = int(round(seg.start * self.sample_rate))
        end = len(samples) if seg.end < 0 else int(round(seg.end * self.sample_rate))
        if begin >= len(samples) or end <= begin:
            raise AudioError(
                f"segments: utterance '{utt}' spans {seg.start:.2f}-{seg.end:.2f} s but recording "
                f"'{seg.recording}' is {len(samples) / self.sample_rate:.2f} s long"
            )
        return samples[begin:end]

    def __iter__(self) -> Iterator[Tuple[str, np.ndarray]]:
        for utt in self.utterances():
            yield utt, self.load(utt)

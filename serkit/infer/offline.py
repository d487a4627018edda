"""Recognition of many inputs of any length in bounded memory (the engine of ``serkit-infer``).

An input is read block by block (a plain file never whole; a pipe or ark offset is decoded at
once), resampled as it arrives, and cut into windows of ``window`` seconds every ``hop`` seconds;
a window is the unit the model sees, so memory depends on the window, not on the input's length.

* Whole-input mode (``segment=False``): ``window = hop = max_seconds``. An input no longer than
  that is one window, scored exactly as before; a longer one gets the duration-weighted mean of
  its windows' posteriors, and a warning that points to the segment mode.
* Segment mode (``segment=True``): one estimate per window, with its time span; the samples after
  the last whole window form a last, shorter segment when the model can read them.

CMVN: without speakers, the global statistics of the training features. With speakers, each
speaker's statistics over all their inputs, as training did, in a first pass that computes
features and keeps only their sums; the second pass scores. Silence (RMS below the recogniser's
``silence_dbfs``) is flagged per estimate.
"""
from __future__ import annotations

import logging
import os
from collections import Counter
from dataclasses import dataclass, field
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

import numpy as np

from serkit.data.audio import read_raw, to_mono
from serkit.errors import AudioError
from serkit.feats.cmvn import accumulate, mean_std
from serkit.data.resample import ChunkResampler
from serkit.infer.audio_stream import file_blocks
from serkit.infer.recognizer import Prediction, Recognizer

logger = logging.getLogger(__name__)

BLOCK_SECONDS = 1.0


def audio_blocks(entry: str, rate: int, what: str) -> Iterator[np.ndarray]:
    """Mono float32 blocks at ``rate`` of a wav.scp entry; a plain file is never read whole."""
    entry = entry.strip()
    if not entry.endswith("|") and os.path.isfile(entry):
        source_rate, blocks = file_blocks(entry, BLOCK_SECONDS)
    else:
        samples, source_rate = read_raw(entry, what)
        mono = to_mono(samples)
        step = max(1, int(source_rate * BLOCK_SECONDS))
        blocks = (mono[i:i + step] for i in range(0, len(mono), step))
    resampler = ChunkResampler(source_rate, rate)
    total = 0
    for block in blocks:
        if not np.all(np.isfinite(block)):
            raise AudioError(f"{what}: audio contains NaN or infinite samples")
        total += len(block)
        out = resampler.push(block)
        if len(out):
            yield out
    if total == 0:
        raise AudioError(f"{what}: audio has zero samples")
    tail = resampler.flush()
    if len(tail):
        yield tail


def windows(blocks: Iterator[np.ndarray], window: int, hop: int) -> Iterator[Tuple[int, np.ndarray]]:
    """``(first_sample, samples)`` of the windows ``[k * hop, k * hop + window)``, then of the
    samples after the last whole window (all of them when the input is shorter than a window)."""
    buf, buf0, start, total = np.zeros(0, np.float32), 0, 0, 0
    for block in blocks:
        buf = np.concatenate([buf, block])
        total += len(block)
        while start + window <= total:
            yield start, buf[start - buf0: start - buf0 + window]
            start += hop
            if start > buf0:
                buf, buf0 = buf[start - buf0:], start
    covered = start - hop + window if start > 0 else 0
    if total > covered:
        yield start, buf[start - buf0: total - buf0]


@dataclass
class _Piece:
    """A window of an input on its way through the model."""

    utt: str
    first: int  # first sample (model rate)
    samples: int
    energy: float  # sum of squared samples (silence flag)
    feats: Optional[np.ndarray]  # raw features until scored
    post: Optional[np.ndarray] = None

    def level_dbfs(self) -> float:
        return 10 * np.log10(self.energy / self.samples) if self.energy > 0 else float("-inf")


@dataclass
class Skip:
    utt: str
    reason: str


@dataclass
class Outcome:
    """What became of the inputs: estimates per input (one, or one per segment), and skips."""

    results: Dict[str, List[Tuple[str, Prediction]]] = field(default_factory=dict)
    skipped: List[Skip] = field(default_factory=list)

    def reasons(self) -> Counter:
        return Counter(s.reason.split(":")[0] for s in self.skipped)


def segment_key(utt: str, start: float, end: float) -> str:
    """Kaldi's segment naming: ``<utt>-<start>-<end>`` in centiseconds, 7 digits."""
    return f"{utt}-{int(round(start * 100)):07d}-{int(round(end * 100)):07d}"


class OfflineRecognizer:
    def __init__(self, rec: Recognizer, max_seconds: float = 60.0, segment: Optional[float] = None,
                 hop: Optional[float] = None, skip_errors: bool = False) -> None:
        if max_seconds <= 0 or (segment is not None and segment <= 0) or (hop is not None and hop <= 0):
            raise AudioError("--max-seconds, --segment and --segment-hop must be positive")
        self.rec, self.rate = rec, rec.sample_rate
        self.segmented = segment is not None
        seconds = segment if segment is not None else max_seconds
        self.window = int(round(seconds * self.rate))
        self.hop = int(round((hop if hop is not None and segment is not None else seconds) * self.rate))
        if self.window < rec.meta.min_samples():
            raise AudioError(f"a window of {seconds} s is shorter than the model's shortest input "
                             f"({rec.meta.min_samples() / self.rate:.3f} s)")
        self.max_seconds, self.skip_errors = max_seconds, skip_errors

    # ---- one input -----------------------------------------------------------------------------
    def _pieces(self, entry: str, what: str) -> Iterator[Tuple[int, np.ndarray, np.ndarray]]:
        """``(first_sample, samples, raw features)`` of each window of an input. A last piece too
        short for the model is dropped (logged) unless it is the whole input."""
        for first, samples in windows(audio_blocks(entry, self.rate, what), self.window, self.hop):
            if first > 0 and len(samples) < self.rec.meta.min_samples():
                logger.info("%s: the last %.3f s are too short for the model and not scored", what, len(samples) / self.rate)
                continue
            yield first, samples, self.rec.features(samples, None, what)

    def speaker_stats(self, entries: Dict[str, str], utts: Sequence[str]) -> Tuple[Optional[np.ndarray], List[Skip]]:
        """Raw-feature statistics over a speaker's inputs (first pass); the inputs that failed."""
        stats, failed = None, []
        for utt in utts:
            try:
                for _, _, feats in self._pieces(entries[utt], f"'{utt}' ({entries[utt]})"):
                    stats = accumulate([feats], stats)
            except AudioError as err:
                failed.append(self._skip(utt, err))
        return stats, failed

    def _skip(self, utt: str, err: AudioError) -> Skip:
        if not self.skip_errors:
            raise err
        logger.warning("skipping: %s", err)
        return Skip(utt, f"unreadable or unusable audio: {err}")

    def _flush(self, pending: List["_Piece"], cmvn, partial: Dict[str, List["_Piece"]]) -> None:
        """Score the pending pieces in one batch; file their posteriors under their input."""
        if not pending:
            return
        out = self.rec.posteriors([self.rec.normalize(piece.feats, cmvn) for piece in pending])
        for piece, post in zip(pending, out):
            piece.feats, piece.post = None, post  # keep only what the estimate needs
            partial.setdefault(piece.utt, []).append(piece)
        pending.clear()

    def _estimates(self, utt: str, entry: str, pieces: List["_Piece"]) -> List[Tuple[str, Prediction]]:
        what = f"'{utt}' ({entry})"
        if self.segmented:
            out = []
            for p in pieces:
                start, end = p.first / self.rate, (p.first + p.samples) / self.rate
                pred = self.rec.labelled(p.post, p.level_dbfs(), p.samples / self.rate, f"{what} {start:.2f}-{end:.2f} s")
                pred.start, pred.end = start, end
                out.append((segment_key(utt, start, end), pred))
            return out
        samples = sum(p.samples for p in pieces)
        if len(pieces) > 1:
            logger.warning("%s is %.1f s long (over --max-seconds %g): its label is the duration-weighted mean of %d "
                           "windows; --segment %g gives one estimate per window", what, samples / self.rate,
                           self.max_seconds, len(pieces), self.max_seconds)
        post = np.average(np.stack([p.post for p in pieces]), axis=0, weights=[p.samples for p in pieces])
        energy = sum(p.energy for p in pieces)
        level = 10 * np.log10(energy / samples) if energy > 0 else float("-inf")
        return [(utt, self.rec.labelled(post, level, samples / self.rate, what))]

    def _score(self, entries: Dict[str, str], utts: Sequence[str], cmvn, outcome: "Outcome") -> None:
        """Score the inputs ``utts`` with one CMVN, batching windows across inputs; a batch holds at
        most ``batch_size`` windows and about one window's worth of audio."""
        pending: List[_Piece] = []
        partial: Dict[str, List[_Piece]] = {}
        for utt in utts:
            try:
                for first, samples, feats in self._pieces(entries[utt], f"'{utt}' ({entries[utt]})"):
                    energy = float(np.sum(np.square(samples, dtype=np.float64)))
                    pending.append(_Piece(utt, first, len(samples), energy, feats))
                    if len(pending) >= self.rec.batch_size or sum(p.samples for p in pending) >= self.window:
                        self._flush(pending, cmvn, partial)
            except AudioError as err:
                pending[:] = [p for p in pending if p.utt != utt]
                partial.pop(utt, None)
                outcome.skipped.append(self._skip(utt, err))
        self._flush(pending, cmvn, partial)
        for utt in utts:
            if utt in partial:
                outcome.results[utt] = self._estimates(utt, entries[utt], partial[utt])

    # ---- many inputs ---------------------------------------------------------------------------
    def run(self, entries: Dict[str, str], speakers: Optional[Dict[str, str]] = None) -> Outcome:
        """Score every input: per speaker with their own CMVN when ``speakers`` is given."""
        groups: Dict[str, List[str]] = {}
        for utt in entries:
            groups.setdefault(speakers[utt] if speakers else "", []).append(utt)
        outcome = Outcome()
        for spk, utts in groups.items():
            cmvn = None
            if speakers and self.rec.meta.cmvn:
                stats, failed = self.speaker_stats(entries, utts)
                outcome.skipped += failed
                bad = {s.utt for s in failed}
                utts = [u for u in utts if u not in bad]
                if stats is None:
                    continue
                mean, std = mean_std(stats)
                cmvn = (mean, std if self.rec.meta.norm_vars else np.ones_like(std))
            self._score(entries, utts, cmvn, outcome)
        return outcome

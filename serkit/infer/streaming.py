"""Streaming recognition: an emotion estimate per hop over a sliding window, as audio arrives.

    stream = StreamingRecognizer(Recognizer.from_onnx("model.onnx"), window=2.0, hop=0.5)
    for chunk in chunks:                       # float32 mono at the model's sample rate
        for event in stream.push(chunk):       # StreamEvent(start, end, label, posteriors, ...)
            ...
    stream.flush(); stream.stats.summary()     # latency per hop, real-time factor

Window ``k`` covers samples ``[k * hop, k * hop + window)``; an event is emitted as soon as its
last sample has arrived, so a stream of ``S`` seconds gives ``1 + floor((S - window) / hop)``
events (a tail shorter than a hop after the last window is not scored). A stream shorter than one
window gives a single event over what there is, marked ``partial``, at :meth:`flush`.

What is reused across windows: features are computed incrementally (each push frames only the
new samples, keeping the partial frame), and the CMVN-normalised frames live in a rolling buffer.
The model itself runs on each whole window: the BiLSTM's backward direction and the attention
pooling see every frame of the window, so no state carries from one window to the next. A
window's posteriors therefore equal the offline posteriors of the same span of audio.

CMVN: ``global`` (default) uses the global statistics of the training features; ``running`` uses
statistics accumulated over everything the stream has delivered so far (per-stream speaker
normalisation, closer to training once a few seconds are in, noisy at first).
"""
from __future__ import annotations

import logging
import statistics
import time
from dataclasses import dataclass, field
from typing import Dict, List, Optional

import numpy as np

from serkit.errors import AudioError, SerkitError
from serkit.feats.cmvn import accumulate, mean_std
from serkit.data.audio import rms_dbfs
from serkit.infer.recognizer import Recognizer

logger = logging.getLogger(__name__)


@dataclass
class StreamEvent:
    start: float  # seconds from the start of the stream
    end: float
    label: str
    posteriors: Dict[str, float]
    silent: bool = False
    partial: bool = False  # the stream ended before one whole window
    latency_ms: float = 0.0  # compute time from the push that completed the window to this event

    def as_dict(self) -> dict:
        return {"start": round(self.start, 3), "end": round(self.end, 3), "label": self.label,
                "posteriors": {k: round(v, 6) for k, v in self.posteriors.items()}, "silent": self.silent,
                "partial": self.partial, "latency_ms": round(self.latency_ms, 3)}


@dataclass
class StreamStats:
    audio_seconds: float = 0.0
    compute_seconds: float = 0.0
    latencies_ms: List[float] = field(default_factory=list)

    @property
    def rtf(self) -> float:
        return self.compute_seconds / self.audio_seconds if self.audio_seconds else float("nan")

    def summary(self) -> Dict[str, float]:
        lat = sorted(self.latencies_ms)
        return {
            "events": len(lat), "audio_seconds": round(self.audio_seconds, 3), "rtf": round(self.rtf, 5),
            "latency_ms_median": round(statistics.median(lat), 3) if lat else None,
            "latency_ms_p95": round(lat[min(len(lat) - 1, int(0.95 * len(lat)))], 3) if lat else None,
        }


class StreamingRecognizer:
    def __init__(self, recognizer: Recognizer, window: float = 2.0, hop: float = 0.5, cmvn: str = "global") -> None:
        meta, rate = recognizer.meta, recognizer.sample_rate
        fconf = recognizer.feature_config
        if fconf.denoise.enabled:
            raise SerkitError("streaming cannot run spectral subtraction (denoise.enabled), which needs the whole "
                              "recording; use serkit-infer on complete files")
        if not getattr(getattr(fconf, fconf.feat_type), "snip_edges", True):  # the log-mel front ends always snip
            raise SerkitError(f"streaming needs frames that do not depend on the end of the audio; the model's "
                              f"{fconf.feat_type} config has snip_edges false")
        if cmvn not in ("global", "running"):
            raise SerkitError(f"streaming CMVN '{cmvn}' is not global or running")
        # front ends whose frames depend on the audio around them (logmel_prosody's openSMILE descriptors,
        # PCEN's smoother from the first frame): each window's features are computed from its own audio, as a file's
        self.per_window = not recognizer.frontend.frames_independent
        if self.per_window and cmvn == "running":
            raise SerkitError(f"streaming a {fconf.feat_type} model computes each window's features from its audio; "
                              "running CMVN is not supported for it: use --cmvn global")
        self.rec, self.rate = recognizer, rate
        self.win, self.shift = meta.frame_samples()
        hop_frames = max(1, int(round(hop * rate / self.shift)))
        if abs(hop_frames * self.shift - hop * rate) > 0.5:
            logger.info("hop %.4f s rounded to %.4f s, a whole number of %d-sample frame shifts",
                        hop, hop_frames * self.shift / rate, self.shift)
        self.hop_frames = hop_frames
        self.hop_samples = hop_frames * self.shift
        self.window_samples = int(round(window * rate))
        if self.window_samples < meta.min_samples():
            raise SerkitError(f"window {window} s is shorter than the model's shortest input "
                              f"({meta.min_samples() / rate:.3f} s)")
        self.window_frames = 1 + (self.window_samples - self.win) // self.shift
        self.cmvn = cmvn if meta.cmvn else "global"  # without CMVN the global pair is the identity
        self._mean, self._std = recognizer.global_cmvn()
        self._stats: Optional[np.ndarray] = None  # running raw stats
        self._pending = np.zeros(0, np.float32)  # samples from the next frame's start
        self._frames = np.zeros((0, meta.input_dim), np.float32)  # rolling frames from frame _frame0
        self._frame0 = 0
        self._frames_done = 0  # frames computed so far
        self._audio = np.zeros(0, np.float32)  # rolling samples from sample _audio0 (silence flags)
        self._audio0 = 0
        self._next = 0  # index of the next window
        self._samples = 0
        self.stats = StreamStats()

    # ---- internals ---------------------------------------------------------------------------
    def _new_frames(self) -> None:
        if len(self._pending) < self.win:
            return
        count = 1 + (len(self._pending) - self.win) // self.shift
        chunk = self._pending[: (count - 1) * self.shift + self.win]
        self._pending = self._pending[count * self.shift:]
        self._frames_done += count
        if self.per_window:  # features computed in _event, from the window's audio
            return
        feats = self.rec.frontend(chunk)
        if self.cmvn == "running":
            self._stats = accumulate([feats], self._stats)
        else:
            feats = self.rec.normalize(feats, (self._mean, self._std))
        self._frames = np.concatenate([self._frames, feats])

    def _window(self, first: int, count: int) -> np.ndarray:
        mats = self._frames[first - self._frame0: first - self._frame0 + count]
        if self.cmvn == "running":
            mean, std = mean_std(self._stats)
            if not self.rec.meta.norm_vars:
                std = np.ones_like(std)
            mats = self.rec.normalize(mats, (mean, std))
        return mats

    def _event(self, first: int, count: int, start_sample: int, end_sample: int, t0: float, partial: bool) -> StreamEvent:
        span = self._audio[start_sample - self._audio0: end_sample - self._audio0]
        if self.per_window:
            mats = self.rec.normalize(self.rec.frontend(span), (self._mean, self._std))
        else:
            mats = self._window(first, count)
        post = self.rec.posteriors([mats])[0]
        latency = (time.perf_counter() - t0) * 1000
        self.stats.latencies_ms.append(latency)
        return StreamEvent(
            start_sample / self.rate, end_sample / self.rate, self.rec.labels[int(np.argmax(post))],
            {l: float(p) for l, p in zip(self.rec.labels, post)}, bool(rms_dbfs(span) < self.rec.silence_dbfs),
            partial, latency,
        )

    def _trim(self) -> None:
        keep_frame = self._next * self.hop_frames
        if keep_frame > self._frame0:
            self._frames = self._frames[keep_frame - self._frame0:]
            self._frame0 = keep_frame
        keep_sample = self._next * self.hop_samples
        if keep_sample > self._audio0:
            self._audio = self._audio[keep_sample - self._audio0:]
            self._audio0 = keep_sample

    # ---- API -----------------------------------------------------------------------------------
    def push(self, samples: np.ndarray) -> List[StreamEvent]:
        """Add mono float32 samples (model rate); return the windows they complete."""
        t0 = time.perf_counter()
        samples = np.asarray(samples, dtype=np.float32).reshape(-1)
        if not np.all(np.isfinite(samples)):
            raise AudioError("stream: audio contains NaN or infinite samples")
        self._samples += len(samples)
        self.stats.audio_seconds = self._samples / self.rate
        self._pending = np.concatenate([self._pending, samples])
        self._audio = np.concatenate([self._audio, samples])
        self._new_frames()
        events = []
        while self._next * self.hop_samples + self.window_samples <= self._samples:
            first = self._next * self.hop_frames
            start = self._next * self.hop_samples
            events.append(self._event(first, self.window_frames, start, start + self.window_samples, t0, False))
            self._next += 1
        self._trim()
        self.stats.compute_seconds += time.perf_counter() - t0
        return events

    def flush(self) -> List[StreamEvent]:
        """End of stream: a partial event when the whole stream was shorter than one window."""
        if self._next > 0:
            return []
        t0 = time.perf_counter()
        self.rec.check_length(self._audio, f"stream ({self._samples / self.rate:.3f} s)")
        logger.info("the stream (%.2f s) is shorter than one %.2f s window: one partial estimate",
                    self._samples / self.rate, self.window_samples / self.rate)
        end = (self._frames_done - 1) * self.shift + self.win
        event = self._event(0, self._frames_done, 0, end, t0, True)
        self._next = 1
        self.stats.compute_seconds += time.perf_counter() - t0
        return [event]

"""Offline emotion recognition from audio: front end, CMVN, batched model, labelled posteriors.

    rec = Recognizer.from_checkpoint("exp/x/final.pt")      # or Recognizer.from_onnx("model.onnx")
    rec.predict(samples, sample_rate)                       # -> Prediction(label, posteriors, silent)
    rec.predict_batch([s1, s2], sample_rate, cmvn=rec.speaker_cmvn([f1, f2]))

CMVN: the models are trained on features normalised with each speaker's own statistics. With
``cmvn=None`` the global statistics of the raw training features are used (a speaker about whom
nothing is known); :meth:`Recognizer.speaker_cmvn` computes a speaker's statistics over their
utterances' features, as training did (compute_cmvn_stats --per-speaker).

Silence: audio quieter than ``silence_dbfs`` (RMS, default -60 dBFS) still gets a prediction, but
``Prediction.silent`` is True and a warning is logged: the posteriors of silence mean nothing.
Audio shorter than the model's shortest input (``ModelMeta.min_samples``) raises AudioError.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from serkit.data.audio import SILENCE_DBFS, read_raw, rms_dbfs, to_mono
from serkit.data.resample import resample
from serkit.errors import AudioError, SerkitError
from serkit.export.card import ModelMeta
from serkit.feats.cmvn import accumulate, mean_std
from serkit.feats.frontends import build_frontend
from serkit.infer.backends import load_backend, onnx_backend, pad_batch

logger = logging.getLogger(__name__)

Cmvn = Tuple[np.ndarray, np.ndarray]  # (mean, std) [dim], float64


@dataclass
class Prediction:
    label: str
    posteriors: Dict[str, float]
    silent: bool = False
    seconds: float = 0.0
    start: Optional[float] = None  # the span of a segment of a longer input (seconds), else None
    end: Optional[float] = None

    def as_dict(self, utt: Optional[str] = None) -> dict:
        out = {"utt": utt} if utt is not None else {}
        if self.start is not None:
            out.update(start=round(self.start, 3), end=round(self.end, 3))
        out.update(label=self.label, posteriors={k: round(v, 6) for k, v in self.posteriors.items()},
                   silent=self.silent, seconds=round(self.seconds, 3))
        return out


class Recognizer:
    def __init__(self, meta: ModelMeta, backend, batch_size: int = 16, silence_dbfs: float = SILENCE_DBFS) -> None:
        self.meta = meta
        self.backend = backend
        self.labels = list(meta.labels)
        self.feature_config = meta.feature_config()
        self.frontend = build_frontend(self.feature_config)
        self.sample_rate = self.feature_config.sample_rate
        self.silence_dbfs = silence_dbfs
        self.batch_size = max(1, batch_size) if meta.padding_invariant else 1
        if not meta.padding_invariant and batch_size > 1:
            logger.info("model %s ignores lengths (padding changes its output): one utterance per batch", meta.model_name)
        self._global: Optional[Cmvn] = None

    # ---- construction ----------------------------------------------------------------------
    @classmethod
    def from_checkpoint(cls, path, feats_config: Optional[str] = None, num_threads: int = 1, **kw) -> "Recognizer":
        from serkit.infer.backends import checkpoint_backend

        meta, backend = checkpoint_backend(path, feats_config, num_threads)
        return cls(meta, backend, **kw)

    @classmethod
    def from_onnx(cls, path, num_threads: int = 1, **kw) -> "Recognizer":
        meta, backend = onnx_backend(path, num_threads)
        return cls(meta, backend, **kw)

    @classmethod
    def load(cls, path, feats_config: Optional[str] = None, num_threads: int = 1, **kw) -> "Recognizer":
        """A checkpoint, a ``.onnx`` or a ``.ts`` export, by file name."""
        meta, backend = load_backend(path, feats_config, num_threads)
        return cls(meta, backend, **kw)

    # ---- features and CMVN -----------------------------------------------------------------
    def prepare(self, samples: np.ndarray, sample_rate: Optional[int] = None, what: str = "audio") -> np.ndarray:
        """Mono float32 samples at the model's rate (resampled with a log note when needed)."""
        samples = np.asarray(samples, dtype=np.float32)
        if samples.ndim == 2:
            samples = to_mono(samples)
        if samples.ndim != 1:
            raise AudioError(f"{what}: expected samples [n] or [n, channels], got shape {samples.shape}")
        if sample_rate and sample_rate != self.sample_rate:
            logger.info("%s: resampling from %d Hz to the model's %d Hz", what, sample_rate, self.sample_rate)
            samples = resample(samples, sample_rate, self.sample_rate).astype(np.float32, copy=False)
        return samples

    def read_audio(self, entry: str, what: str = "") -> np.ndarray:
        """Samples of a wav.scp entry (file, pipe, ark offset) at the model's rate, mono."""
        what = what or entry
        samples, rate = read_raw(entry, what)
        if samples.shape[0] == 0:
            raise AudioError(f"{what}: audio has zero samples")
        if not np.all(np.isfinite(samples)):
            raise AudioError(f"{what}: audio contains NaN or infinite samples")
        return self.prepare(samples, rate, what)

    def check_length(self, samples: np.ndarray, what: str = "audio") -> None:
        need = self.meta.min_samples()
        if len(samples) < need:
            win, _ = self.meta.frame_samples()
            raise AudioError(
                f"{what}: audio is {len(samples) / self.sample_rate * 1000:.0f} ms long; the model needs at least "
                f"{need / self.sample_rate * 1000:.0f} ms ({self.meta.min_frames} frames of "
                f"{win / self.sample_rate * 1000:.0f} ms)"
            )

    def features(self, samples: np.ndarray, sample_rate: Optional[int] = None, what: str = "audio") -> np.ndarray:
        """Raw (un-normalised) features ``[frames, dim]`` of the samples."""
        samples = self.prepare(samples, sample_rate, what)
        self.check_length(samples, what)
        try:
            return self.frontend(samples)
        except AudioError as err:
            raise AudioError(f"{what}: {err}") from None

    def global_cmvn(self) -> Cmvn:
        if self._global is None:
            mean, std = self.meta.global_mean_std()
            self._global = (mean.astype(np.float64), std.astype(np.float64))
        return self._global

    def speaker_cmvn(self, feats: Sequence[np.ndarray]) -> Cmvn:
        """The training-time normalisation of one speaker: stats over all their raw features."""
        if not self.meta.cmvn:
            return self.global_cmvn()
        mean, std = mean_std(accumulate(feats))
        return mean, (std if self.meta.norm_vars else np.ones_like(std))

    def normalize(self, feats: np.ndarray, cmvn: Optional[Cmvn] = None) -> np.ndarray:
        mean, std = cmvn if cmvn is not None else self.global_cmvn()
        if feats.shape[1] != len(mean):
            raise SerkitError(f"features have dimension {feats.shape[1]} but the CMVN stats have {len(mean)}")
        return ((feats - mean) / std).astype(np.float32)

    # ---- prediction --------------------------------------------------------------------------
    def posteriors(self, feats: Sequence[np.ndarray]) -> np.ndarray:
        """``[N, classes]`` posteriors of normalised feature matrices, batched longest first."""
        order = sorted(range(len(feats)), key=lambda i: -len(feats[i]))
        out = np.zeros((len(feats), len(self.labels)), dtype=np.float32)
        for start in range(0, len(order), self.batch_size):
            idx = order[start:start + self.batch_size]
            batch, lengths = pad_batch([feats[i] for i in idx])
            out[idx] = self.backend(batch, lengths)
        return out

    def prediction(self, post: np.ndarray, samples: np.ndarray, what: str) -> Prediction:
        return self.labelled(post, rms_dbfs(samples), len(samples) / self.sample_rate, what)

    def labelled(self, post: np.ndarray, level_dbfs: float, seconds: float, what: str) -> Prediction:
        """The prediction of posteriors ``post`` for audio of RMS level ``level_dbfs`` (silence flag)."""
        silent = bool(level_dbfs < self.silence_dbfs)
        if silent:
            logger.warning("%s is silent (below %.0f dBFS): its prediction is flagged 'silent'", what, self.silence_dbfs)
        return Prediction(self.labels[int(np.argmax(post))], {l: float(p) for l, p in zip(self.labels, post)},
                          silent, seconds)

    def predict(self, samples: np.ndarray, sample_rate: Optional[int] = None, cmvn: Optional[Cmvn] = None,
                what: str = "audio") -> Prediction:
        return self.predict_batch([samples], sample_rate, cmvn, [what])[0]

    def predict_batch(
        self, batch: Sequence[np.ndarray], sample_rate: Optional[int] = None,
        cmvn: Union[None, Cmvn, Sequence[Optional[Cmvn]]] = None, names: Optional[Sequence[str]] = None,
    ) -> List[Prediction]:
        """Predictions for several utterances. ``cmvn``: None (global stats), one ``(mean, std)``
        for all, or one per utterance."""
        names = list(names) if names is not None else [f"utterance {i}" for i in range(len(batch))]
        waves = [self.prepare(s, sample_rate, n) for s, n in zip(batch, names)]
        raw = [self.features(w, None, n) for w, n in zip(waves, names)]
        per_utt = cmvn if isinstance(cmvn, (list,)) else [cmvn] * len(raw)
        if len(per_utt) != len(raw):
            raise SerkitError(f"{len(per_utt)} CMVN entries for {len(raw)} utterances")
        post = self.posteriors([self.normalize(f, c) for f, c in zip(raw, per_utt)])
        return [self.prediction(p, w, n) for p, w, n in zip(post, waves, names)]

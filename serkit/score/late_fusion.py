"""Late fusion of two models' posteriors (audio and text), with the weight tuned on dev.

Rules, for a weight ``w`` in [0, 1] on the first (audio) model:

* ``linear`` (default): ``p = w * p_audio + (1 - w) * p_text``, a mixture of the posteriors;
* ``loglinear``: ``p ∝ p_audio ** w * p_text ** (1 - w)``, a weighted product (renormalised),
  which lets one confident model veto the other.

``w`` is chosen on a grid by dev UA; ties go to the lower dev cross-entropy of the fused
posteriors, then to the weight nearer 0.5. So a perfect audio model (one-hot posteriors) gets
``w = 1``, and two equally good, complementary models a weight near the middle.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from serkit.data.table import KeyTable, PathLike, read_table
from serkit.data.table import read_label_list
from serkit.errors import SerkitError
from serkit.feats.ark import iter_scp
from serkit.score.metrics import compute_scores

RULES = ("linear", "loglinear")
EPS = 1e-12


@dataclass
class Posteriors:
    """Posteriors of one model on one set: ``[utts, classes]`` in the order of ``labels``."""

    utts: List[str]
    labels: List[str]
    probs: np.ndarray
    source: str = ""

    def reordered(self, labels: Sequence[str]) -> "Posteriors":
        """The same posteriors with the classes in the order of ``labels`` (same set required)."""
        if sorted(labels) != sorted(self.labels):
            raise SerkitError(f"{self.source}: labels {self.labels} are not those of the other model {list(labels)}; "
                              f"fuse models trained on the same classes")
        index = [self.labels.index(label) for label in labels]
        return Posteriors(self.utts, list(labels), self.probs[:, index], self.source)

    def subset(self, utts: Sequence[str]) -> "Posteriors":
        row = {u: i for i, u in enumerate(self.utts)}
        missing = [u for u in utts if u not in row]
        if missing:
            raise SerkitError(f"{self.source}: no posteriors for '{missing[0]}' ({len(missing)} utterances); "
                              f"decode both models on the same data directory")
        return Posteriors(list(utts), self.labels, self.probs[[row[u] for u in utts]], self.source)


def read_posteriors(decode_dir: PathLike) -> Posteriors:
    """``posteriors.scp`` and ``labels.txt`` of a serkit.bin.predict output folder."""
    d = Path(decode_dir)
    scp, labels_file = d / "posteriors.scp", d / "labels.txt"
    for f in (scp, labels_file):
        if not f.is_file():
            raise SerkitError(f"{f}: missing; run serkit.bin.predict with --out-dir {d} first")
    labels = read_label_list(labels_file)
    utts, rows = [], []
    for utt, vec in iter_scp(scp):
        vec = np.asarray(vec, dtype=np.float64).reshape(-1)
        if len(vec) != len(labels):
            raise SerkitError(f"{scp}: '{utt}' has {len(vec)} posteriors but {labels_file} lists {len(labels)} labels")
        utts.append(utt)
        rows.append(vec)
    if not rows:
        raise SerkitError(f"{scp}: no posteriors")
    return Posteriors(utts, labels, np.stack(rows), str(d))


def fuse(audio: np.ndarray, text: np.ndarray, weight: float, rule: str = "linear") -> np.ndarray:
    """Fused posteriors ``[utts, classes]`` (rows sum to 1)."""
    if rule == "linear":
        fused = weight * audio + (1.0 - weight) * text
    elif rule == "loglinear":
        log = weight * np.log(audio + EPS) + (1.0 - weight) * np.log(text + EPS)
        fused = np.exp(log - log.max(axis=1, keepdims=True))
    else:
        raise SerkitError(f"fusion rule '{rule}' is not one of {', '.join(RULES)}")
    return fused / fused.sum(axis=1, keepdims=True)


def _scores(probs: np.ndarray, refs: Sequence[str], labels: Sequence[str]) -> Dict[str, float]:
    hyps = [labels[i] for i in probs.argmax(axis=1)]
    s = compute_scores(list(refs), hyps, labels)
    index = {label: i for i, label in enumerate(labels)}
    nll = float(-np.mean(np.log(probs[np.arange(len(refs)), [index[r] for r in refs]] + EPS)))
    return {"ua": s.ua, "wa": s.wa, "macro_f1": s.macro_f1, "nll": nll}


def reference_labels(ref: KeyTable, utts: Sequence[str], labels: Sequence[str]) -> List[str]:
    missing = [u for u in utts if u not in ref]
    if missing:
        raise SerkitError(f"{ref.path}: no reference label for '{missing[0]}' ({len(missing)} utterances); "
                          f"give the utt2emo of the decoded set")
    unknown = [u for u in utts if ref[u] not in labels]
    if unknown:
        raise SerkitError(f"{ref.where(unknown[0])}: label '{ref[unknown[0]]}' is not among the models' {list(labels)}")
    return [ref[u] for u in utts]


def grid(step: float) -> np.ndarray:
    if not 0 < step <= 1:
        raise SerkitError(f"--grid-step must be in (0, 1], got {step}")
    n = int(round(1.0 / step))
    return np.round(np.linspace(0.0, 1.0, n + 1), 6)


def aligned(audio: Posteriors, text: Posteriors) -> Posteriors:
    """``text`` with the audio model's class order and utterance order (the same utterances)."""
    extra = sorted(set(text.utts) - set(audio.utts))
    if extra:
        raise SerkitError(f"{text.source}: '{extra[0]}' has posteriors but none in {audio.source} "
                          f"({len(extra)} utterances); decode both models on the same data directory")
    return text.reordered(audio.labels).subset(audio.utts)


def tune_weight(audio: Posteriors, text: Posteriors, ref: KeyTable, rule: str = "linear",
                step: float = 0.05) -> Tuple[float, List[Dict[str, float]]]:
    """The dev-UA-best weight (ties: lower dev cross-entropy, then nearer 0.5), and every grid point."""
    text = aligned(audio, text)
    refs = reference_labels(ref, audio.utts, audio.labels)
    rows = [{"weight": float(w), **_scores(fuse(audio.probs, text.probs, w, rule), refs, audio.labels)}
            for w in grid(step)]
    best = min(rows, key=lambda r: (-round(r["ua"], 9), round(r["nll"], 9), abs(r["weight"] - 0.5)))
    return best["weight"], rows


def fused_posteriors(audio: Posteriors, text: Posteriors, weight: float, rule: str) -> Posteriors:
    text = aligned(audio, text)
    return Posteriors(audio.utts, audio.labels, fuse(audio.probs, text.probs, weight, rule), "fused")


def scores_of(post: Posteriors, ref: Optional[KeyTable]) -> Optional[Dict[str, float]]:
    if ref is None:
        return None
    return _scores(post.probs, reference_labels(ref, post.utts, post.labels), post.labels)


def read_reference(path: PathLike) -> KeyTable:
    return read_table(path)

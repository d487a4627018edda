"""openSMILE functionals + RBF SVM, with per-speaker feature standardisation.

What a practitioner would pick instead of a neural model, run on the same folds so the recipe's
results table compares like with like. Needs ``pip install -e .[baseline]`` (opensmile,
scikit-learn); :func:`available` tells whether they are installed.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import numpy as np

from serkit.data.datadir import DataDir
from serkit.errors import AudioError, SerkitError
from serkit.feats.ark import AtomicArkWriter, load_scp
from serkit.utils.progress import progress

logger = logging.getLogger(__name__)
C_GRID = (0.1, 1.0, 10.0, 100.0)


def available() -> Optional[str]:
    """None when the baseline can run, else what is missing."""
    missing = []
    for module in ("opensmile", "sklearn"):
        try:
            __import__(module)
        except ImportError:
            missing.append(module)
    return ", ".join(missing) if missing else None


def extract_functionals(data_dir, ark, scp, feature_set: str = "ComParE_2016", sample_rate: int = 16000) -> Dict[str, np.ndarray]:
    """Utterance-level functionals of every utterance (cached in ``ark``/``scp``)."""
    if Path(scp).is_file():
        return load_scp(scp)
    import opensmile

    try:
        fs = getattr(opensmile.FeatureSet, feature_set)
    except AttributeError:
        raise SerkitError(f"unknown openSMILE feature set '{feature_set}' (e.g. ComParE_2016, eGeMAPSv02)") from None
    smile = opensmile.Smile(feature_set=fs, feature_level=opensmile.FeatureLevel.Functionals)
    d = DataDir(data_dir)
    loader = d.audio_loader(sample_rate)
    out: Dict[str, np.ndarray] = {}
    with AtomicArkWriter(ark, scp) as writer:
        for utt in progress(d.utts, f"openSMILE {feature_set}", unit="utt"):
            try:
                vec = smile.process_signal(loader.load(utt), sample_rate).to_numpy()[0].astype(np.float32)
            except AudioError as err:
                logger.warning("skipping '%s': %s", utt, err)
                continue
            writer.write(utt, vec)
            out[utt] = vec
    return out


def standardise_per_speaker(feats: Dict[str, np.ndarray], utt2spk: Dict[str, str]) -> Dict[str, np.ndarray]:
    """z-normalise every feature with its speaker's own mean and std (test speakers included,
    as per-speaker CMVN does for the neural models: it needs no labels)."""
    by_spk: Dict[str, List[str]] = {}
    for utt in feats:
        by_spk.setdefault(utt2spk[utt], []).append(utt)
    out = {}
    for utts in by_spk.values():
        mat = np.stack([feats[u] for u in utts]).astype(np.float64)
        mean, std = mat.mean(0), mat.std(0)
        std[std < 1e-8] = 1.0
        for u, row in zip(utts, (mat - mean) / std):
            out[u] = row
    return out


class RbfKernel:
    """The RBF kernel of ``SVC(kernel="rbf", gamma="scale")`` over every utterance, from squared
    distances computed once: each fold's SVMs then fit on a precomputed kernel (the same solution,
    minutes instead of an hour on CREMA-D's 7,442 utterances x 6,373 functionals)."""

    def __init__(self, feats: Dict[str, np.ndarray]) -> None:
        self.index = {u: i for i, u in enumerate(sorted(feats))}
        self.x = np.stack([feats[u] for u in sorted(feats)]).astype(np.float64)
        sq = np.einsum("ij,ij->i", self.x, self.x)
        self.d2 = sq[:, None] + sq[None, :] - 2.0 * (self.x @ self.x.T)
        np.maximum(self.d2, 0.0, out=self.d2)

    def rows(self, utts: Sequence[str]) -> np.ndarray:
        missing = [u for u in utts if u not in self.index]
        if missing:
            raise SerkitError(f"no functionals for {len(missing)} utterances (e.g. '{missing[0]}'); run fix_data_dir.sh")
        return np.array([self.index[u] for u in utts], dtype=np.int64)

    def gamma(self, utts: Sequence[str]) -> float:
        """sklearn's ``gamma="scale"`` of a training set: 1 / (features x variance of all its values),
        1 when they do not vary."""
        x = self.x[self.rows(utts)]
        var = x.var()
        return 1.0 / (x.shape[1] * var) if var != 0 else 1.0

    def matrix(self, rows: Sequence[str], cols: Sequence[str], gamma: float) -> np.ndarray:
        return np.exp(-gamma * self.d2[np.ix_(self.rows(rows), self.rows(cols))])


def softmax_temperature(decisions: np.ndarray, labels: Sequence[int]) -> float:
    """The temperature ``T`` that makes ``softmax(decisions / T)`` best predict ``labels`` (column
    indices): one parameter, so it cannot overfit a small dev set, and a class missing there keeps
    its share."""
    from scipy.optimize import minimize_scalar
    from scipy.special import log_softmax

    rows = np.arange(len(labels))

    def nll(log_t: float) -> float:
        return float(-log_softmax(decisions / np.exp(log_t), axis=1)[rows, labels].mean())

    return float(np.exp(minimize_scalar(nll, bounds=(-5.0, 5.0), method="bounded").x))


def _decisions(svm, x: np.ndarray) -> np.ndarray:
    """One-vs-rest decision values ``[utts, classes]`` (two classes: ``-d/2, d/2``, whose softmax is sigmoid(d))."""
    d = svm.decision_function(x)
    return np.stack([-d / 2, d / 2], axis=1) if d.ndim == 1 else d


def train_and_predict(kernel: RbfKernel, utt2emo: Dict[str, str], train: Sequence[str],
                      dev: Sequence[str], test: Sequence[str]) -> "SvmResult":
    """Choose C on the dev utterances (UA), refit on train+dev, predict the test utterances.

    Beside the decisions, class posteriors for fusion with other systems: a softmax of the final
    SVM's one-vs-rest decision values, its temperature fitted on the dev utterances' decision values
    of the SVM trained without them (no extra SVM fits; ``T = 1`` without dev speakers)."""
    from scipy.special import softmax
    from sklearn.svm import SVC

    from serkit.score.metrics import compute_scores

    y_train = [utt2emo[u] for u in train]
    gamma = kernel.gamma(train)
    k_train = kernel.matrix(train, train, gamma)
    best_c, best_ua, best_svm, k_dev = C_GRID[1], -1.0, None, None
    if dev:
        k_dev, y_dev = kernel.matrix(dev, train, gamma), [utt2emo[u] for u in dev]
        for c in C_GRID:
            svm = SVC(C=c, kernel="precomputed", class_weight="balanced").fit(k_train, y_train)
            ua = compute_scores(y_dev, list(svm.predict(k_dev))).ua
            if ua > best_ua:
                best_c, best_ua, best_svm = c, ua, svm
    fit_utts = list(train) + list(dev)
    gamma = kernel.gamma(fit_utts)
    svm = SVC(C=best_c, kernel="precomputed", class_weight="balanced")
    svm.fit(kernel.matrix(fit_utts, fit_utts, gamma), [utt2emo[u] for u in fit_utts])
    classes = [str(c) for c in svm.classes_]
    temperature = 1.0
    if best_svm is not None and list(best_svm.classes_) == list(svm.classes_):
        known = [i for i, y in enumerate(y_dev) if y in classes]
        temperature = softmax_temperature(_decisions(best_svm, k_dev[known]), [classes.index(y_dev[i]) for i in known])
    k_test = kernel.matrix(test, fit_utts, gamma)
    posteriors = softmax(_decisions(svm, k_test) / temperature, axis=1)
    decisions = dict(zip(test, (str(h) for h in svm.predict(k_test))))
    return SvmResult(decisions, posteriors.astype(np.float32), classes, best_c, temperature)


@dataclass
class SvmResult:
    decisions: Dict[str, str]  # test utterance -> label
    posteriors: np.ndarray  # [test utterances, classes], rows in the order of the test list
    classes: List[str]  # the columns of posteriors
    c: float  # the C chosen on dev
    temperature: float  # of the posteriors' softmax, fitted on dev

"""openSMILE functionals + RBF SVM, with per-speaker feature standardisation.

What a practitioner would pick instead of a neural model, run on the same folds so the recipe's
results table compares like with like. Needs ``pip install -e .[baseline]`` (opensmile,
scikit-learn); :func:`available` tells whether they are installed.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

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


def _matrix(feats: Dict[str, np.ndarray], utts: Sequence[str]) -> np.ndarray:
    missing = [u for u in utts if u not in feats]
    if missing:
        raise SerkitError(f"no functionals for {len(missing)} utterances (e.g. '{missing[0]}'); run fix_data_dir.sh")
    return np.stack([feats[u] for u in utts])


def train_and_predict(feats: Dict[str, np.ndarray], utt2emo: Dict[str, str], train: Sequence[str],
                      dev: Sequence[str], test: Sequence[str]) -> "SvmResult":
    """Choose C on the dev utterances (UA), refit on train+dev, predict the test utterances.

    Beside the decisions (the SVM's own, ``SVC.predict``), class posteriors for fusion with other
    systems: Platt scaling fitted on cross-validated decision values of train+dev
    (``CalibratedClassifierCV(ensemble=False)``, whose final SVM is the one that decides)."""
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.model_selection import StratifiedKFold
    from sklearn.svm import SVC

    from serkit.score.metrics import compute_scores

    x_train, y_train = _matrix(feats, train), [utt2emo[u] for u in train]
    best_c, best_ua = C_GRID[1], -1.0
    if dev:
        x_dev, y_dev = _matrix(feats, dev), [utt2emo[u] for u in dev]
        for c in C_GRID:
            svm = SVC(C=c, kernel="rbf", gamma="scale", class_weight="balanced").fit(x_train, y_train)
            ua = compute_scores(y_dev, list(svm.predict(x_dev))).ua
            if ua > best_ua:
                best_c, best_ua = c, ua
    fit_utts = list(train) + list(dev)
    x_fit, y_fit = _matrix(feats, fit_utts), [utt2emo[u] for u in fit_utts]
    x_test = _matrix(feats, test)
    svm = SVC(C=best_c, kernel="rbf", gamma="scale", class_weight="balanced")
    folds = min(5, min(y_fit.count(label) for label in set(y_fit)))
    if folds >= 2:
        calibrated = CalibratedClassifierCV(svm, method="sigmoid", ensemble=False,
                                            cv=StratifiedKFold(folds, shuffle=True, random_state=0)).fit(x_fit, y_fit)
        svm, posteriors = calibrated.calibrated_classifiers_[0].estimator, calibrated.predict_proba(x_test)
        classes = [str(c) for c in calibrated.classes_]
    else:  # a class with one training utterance: no cross-validation, posteriors are the decisions
        logger.warning("a class has a single training utterance: SVM posteriors are one-hot decisions")
        svm.fit(x_fit, y_fit)
        classes = [str(c) for c in svm.classes_]
        posteriors = np.eye(len(classes))[[classes.index(h) for h in svm.predict(x_test)]]
    decisions = dict(zip(test, (str(h) for h in svm.predict(x_test))))
    return SvmResult(decisions, posteriors.astype(np.float32), classes, best_c)


@dataclass
class SvmResult:
    decisions: Dict[str, str]  # test utterance -> label
    posteriors: np.ndarray  # [test utterances, classes], rows in the order of the test list
    classes: List[str]  # the columns of posteriors
    c: float  # the C chosen on dev

"""openSMILE functionals + RBF SVM, with per-speaker feature standardisation.

What a practitioner would pick instead of a neural model, run on the same folds so the recipe's
results table compares like with like. Needs ``pip install -e .[baseline]`` (opensmile,
scikit-learn); :func:`available` tells whether they are installed.
"""
from __future__ import annotations

import hashlib
import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from serkit.data.datadir import DataDir
from serkit.errors import AudioError, SerkitError
from serkit.feats.ark import AtomicArkWriter, load_scp
from serkit.feats.denoise import DenoiseConfig, spectral_subtraction
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


def require_available(what: str) -> None:
    """A SerkitError saying how to install what ``what`` needs, when it is missing."""
    missing = available()
    if missing:
        raise SerkitError(f"{what} needs {missing}: pip install -e '.[baseline]'")


_worker: Dict[str, Any] = {}


def _start_worker(data_dir, feature_set: str, sample_rate: int, denoise: Optional[DenoiseConfig] = None) -> None:
    """One openSMILE extractor and audio loader per process (neither is shared across processes)."""
    import opensmile

    try:
        fs = getattr(opensmile.FeatureSet, feature_set)
    except AttributeError:
        raise SerkitError(f"unknown openSMILE feature set '{feature_set}' (e.g. ComParE_2016, eGeMAPSv02)") from None
    _worker.update(smile=opensmile.Smile(feature_set=fs, feature_level=opensmile.FeatureLevel.Functionals),
                   loader=DataDir(data_dir).audio_loader(sample_rate), sample_rate=sample_rate,
                   denoise=denoise)


def _functionals_of(utts: Sequence[str]) -> List[Tuple[str, Optional[np.ndarray], str]]:
    """(utt, functionals or None, why it was skipped) for each utterance of a chunk."""
    out = []
    for utt in utts:
        try:
            wav = _worker["loader"].load(utt)
            if _worker["denoise"] is not None:
                wav = spectral_subtraction(wav, _worker["sample_rate"], _worker["denoise"])
            vec = _worker["smile"].process_signal(wav, _worker["sample_rate"]).to_numpy()[0].astype(np.float32)
            out.append((utt, vec, ""))
        except AudioError as err:
            out.append((utt, None, str(err)))
    return out


def extract_functionals(data_dir, ark, scp, feature_set: str = "ComParE_2016", sample_rate: int = 16000,
                        jobs: int = 1, chunk: int = 32, denoise: Optional[DenoiseConfig] = None) -> Dict[str, np.ndarray]:
    """Utterance-level functionals of every utterance (cached in ``ark``/``scp``), ``jobs`` processes
    at once; the archive is written in the data directory's order whatever ``jobs`` is. With an
    enabled ``denoise``, of the spectrally subtracted audio (:mod:`serkit.feats.denoise`). The cache
    is used only if it was extracted from the same ``wav.scp`` with the same feature set, rate and
    denoising (``<scp>.source``); otherwise it is extracted again, with a warning."""
    utts = DataDir(data_dir).utts  # a missing or malformed data directory fails here, with its path
    denoise = denoise if denoise is not None and denoise.enabled else None  # None: no spectral subtraction
    source = _source_digest(data_dir, feature_set, sample_rate, denoise)
    cached = _cached(Path(scp), source, data_dir, utts)
    if cached is not None:
        return cached
    chunks = [utts[i:i + chunk] for i in range(0, len(utts), chunk)]
    out: Dict[str, np.ndarray] = {}
    bar = progress(None, f"openSMILE {feature_set}", unit="utt", total=len(utts))
    with AtomicArkWriter(ark, scp) as writer:
        if jobs > 1:  # spawned, not forked: the parent may hold torch / OpenMP threads
            import multiprocessing

            ctx = multiprocessing.get_context("spawn")
            with ctx.Pool(jobs, initializer=_start_worker, initargs=(str(data_dir), feature_set, sample_rate, denoise)) as pool:
                _write_chunks(pool.imap(_functionals_of, chunks), writer, out, bar)
        else:
            _start_worker(data_dir, feature_set, sample_rate, denoise)
            _write_chunks(map(_functionals_of, chunks), writer, out, bar)
    bar.close()
    Path(f"{scp}.source").write_text(source + "\n")
    return out


def _source_digest(data_dir, feature_set: str, sample_rate: int, denoise: Optional[DenoiseConfig] = None) -> str:
    """What the functionals of ``data_dir`` depend on: its wav.scp, the feature set, the rate and
    the (enabled) denoising; without one, the digest of serkit before it could denoise, so older
    caches stay valid."""
    digest = hashlib.sha256(f"{feature_set} {sample_rate}\n".encode())
    if denoise is not None:
        digest.update(f"denoise {sorted(asdict(denoise).items())}\n".encode())
    digest.update((Path(data_dir) / "wav.scp").read_bytes())
    return digest.hexdigest()


def _cached(scp: Path, source: str, data_dir, utts: Sequence[str]) -> Optional[Dict[str, np.ndarray]]:
    """The cached functionals when they belong to ``source``; None (with the reason logged) when
    they must be extracted again. A cache without ``.source`` (older serkit) is trusted only if it
    holds every utterance of ``data_dir``."""
    if not scp.is_file():
        return None
    stamp = Path(f"{scp}.source")
    if stamp.is_file():
        if stamp.read_text().strip() == source:
            return load_scp(str(scp))
        logger.warning("%s was extracted from another wav.scp, feature set or rate than %s/wav.scp now; extracting again",
                       scp, data_dir)
        return None
    feats = load_scp(str(scp))
    missing = [u for u in utts if u not in feats]
    if missing:
        logger.warning("%s lacks %d utterances of %s (e.g. '%s'); extracting again", scp, len(missing), data_dir,
                       missing[0])
        return None
    return feats


def _write_chunks(results, writer, out: Dict[str, np.ndarray], bar) -> None:
    for rows in results:
        for utt, vec, why in rows:
            if vec is None:
                logger.warning("skipping '%s': %s", utt, why)
                continue
            writer.write(utt, vec)
            out[utt] = vec
        bar.update(len(rows))


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

    def cross(self, x: np.ndarray, cols: Sequence[str], gamma: float) -> np.ndarray:
        """Kernel between new feature vectors ``x`` (rows; e.g. a noisy copy of the test set) and
        the utterances ``cols``."""
        y = self.x[self.rows(cols)]
        x = np.asarray(x, dtype=np.float64)
        d2 = np.einsum("ij,ij->i", x, x)[:, None] + np.einsum("ij,ij->i", y, y)[None, :] - 2.0 * (x @ y.T)
        return np.exp(-gamma * np.maximum(d2, 0.0))


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


def selection_splits(train: Sequence[str], dev: Sequence[str], utt2spk: Optional[Dict[str, str]],
                     inner_folds: int = 5) -> List[Tuple[List[str], List[str]]]:
    """The (fit, held-out) splits that choose C and the posterior temperature: the dev utterances
    when there are some; else speaker-independent inner folds of the training utterances (at most
    ``inner_folds`` groups of whole speakers, sklearn's GroupKFold); none with fewer than 2
    training speakers (then C = 1 and T = 1)."""
    if dev:
        return [(list(train), list(dev))]
    if not utt2spk:
        return []
    from sklearn.model_selection import GroupKFold

    groups = [utt2spk[u] for u in train]
    n = min(inner_folds, len(set(groups)))
    if n < 2:
        return []
    utts = np.asarray(train)
    return [(list(utts[a]), list(utts[b])) for a, b in GroupKFold(n_splits=n).split(utts, groups=groups)]


def _held_out_decisions(kernel: RbfKernel, utt2emo: Dict[str, str], splits, c: float, classes: List[str]):
    """Cross-validated predictions and decision values (columns in ``classes``) of an SVM with ``C = c``."""
    from sklearn.svm import SVC

    preds, labels, decisions = [], [], []
    for fit, held in splits:
        gamma = kernel.gamma(fit)
        svm = SVC(C=c, kernel="precomputed", class_weight="balanced").fit(kernel.matrix(fit, fit, gamma), [utt2emo[u] for u in fit])
        k_held = kernel.matrix(held, fit, gamma)
        preds += [str(p) for p in svm.predict(k_held)]
        labels += [utt2emo[u] for u in held]
        d = np.full((len(held), len(classes)), np.nan)  # a class the fold did not train on: no column
        d[:, [classes.index(str(k)) for k in svm.classes_]] = _decisions(svm, k_held)
        decisions.append(d)
    return preds, labels, np.concatenate(decisions)


def train_and_predict(kernel: RbfKernel, utt2emo: Dict[str, str], train: Sequence[str],
                      dev: Sequence[str], test: Sequence[str], utt2spk: Optional[Dict[str, str]] = None,
                      inner_folds: int = 5) -> "SvmResult":
    """Choose C by UA on held-out speakers (:func:`selection_splits`: the dev speakers, else inner
    speaker folds of the training set), refit on train+dev, predict the test utterances.

    Beside the decisions, class posteriors for fusion with other systems: a softmax of the final
    SVM's one-vs-rest decision values, its temperature fitted on the held-out decision values of
    the chosen C (``T = 1`` when nothing is held out)."""
    from sklearn.svm import SVC

    from serkit.score.metrics import compute_scores

    fit_utts = list(train) + list(dev)
    classes = sorted({utt2emo[u] for u in fit_utts})
    splits = selection_splits(train, dev, utt2spk, inner_folds)
    best_c, best_ua, best_held = C_GRID[1], -1.0, None
    for c in C_GRID if splits else ():
        preds, labels, decisions = _held_out_decisions(kernel, utt2emo, splits, c, classes)
        ua = compute_scores(labels, preds).ua
        if ua > best_ua:
            best_c, best_ua, best_held = c, ua, (labels, decisions)
    gamma = kernel.gamma(fit_utts)
    svm = SVC(C=best_c, kernel="precomputed", class_weight="balanced")
    svm.fit(kernel.matrix(fit_utts, fit_utts, gamma), [utt2emo[u] for u in fit_utts])
    temperature = 1.0
    if best_held is not None:
        labels, decisions = best_held
        known = [i for i, y in enumerate(labels) if y in classes and not np.isnan(decisions[i]).any()]
        if known:
            temperature = softmax_temperature(decisions[known], [classes.index(labels[i]) for i in known])
    preds, posteriors = _predict(svm, kernel.matrix(test, fit_utts, gamma), temperature)
    selection = "dev" if dev else (f"{len(splits)} inner speaker folds" if splits else "none (C=1)")
    return SvmResult(dict(zip(test, preds)), posteriors, [str(c) for c in svm.classes_], best_c, temperature,
                     selection, svm=svm, fit_utts=fit_utts, gamma=gamma)


def _predict(svm, k: np.ndarray, temperature: float) -> Tuple[List[str], np.ndarray]:
    """Decisions and calibrated posteriors of a fitted SVM from its kernel rows ``k``."""
    from scipy.special import softmax

    posteriors = softmax(_decisions(svm, k) / temperature, axis=1)
    return [str(h) for h in svm.predict(k)], posteriors.astype(np.float32)


def predict_more(kernel: RbfKernel, result: "SvmResult", x: np.ndarray) -> Tuple[List[str], np.ndarray]:
    """Decisions and posteriors (columns: ``result.classes``) of a fitted fold's SVM for new
    feature vectors ``x`` (rows), e.g. the functionals of a noisy copy of its test set."""
    return _predict(result.svm, kernel.cross(x, result.fit_utts, result.gamma), result.temperature)


@dataclass
class SvmResult:
    decisions: Dict[str, str]  # test utterance -> label
    posteriors: np.ndarray  # [test utterances, classes], rows in the order of the test list
    classes: List[str]  # the columns of posteriors
    c: float  # the C chosen on the held-out speakers
    temperature: float  # of the posteriors' softmax, fitted on the held-out speakers
    selection: str = "dev"  # what chose them: dev, inner speaker folds, none
    svm: Any = None  # the fitted sklearn SVC (precomputed kernel), for predict_more
    fit_utts: List[str] = field(default_factory=list)  # its training utterances (the kernel's columns)
    gamma: float = 1.0

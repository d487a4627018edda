"""Classification scores for emotion recognition, numpy only.

Conventions (those of most speech-emotion-recognition papers; written into every output):

* **WA** (weighted accuracy): the fraction of utterances whose hypothesis equals the reference.
* **UA** (unweighted accuracy): the mean per-class recall over the classes *present in the
  reference*. A class that is only hypothesised has no recall and adds no term.
* **macro-F1**: the mean per-class F1 over the classes present in the reference, i.e.
  ``sklearn.metrics.f1_score(ref, hyp, average='macro', labels=<reference classes>)``. Predictions
  of a class absent from the reference still count: they are misses of the true classes.
* Per class: precision = correct / predicted (0 for a reference class that is never predicted,
  sklearn's ``zero_division=0``); recall and F1 are ``None`` for a class absent from the reference.
* The confusion matrix has one row per reference class and one column per hypothesised class,
  both in the order of the label set.
* Across folds: the mean and the *sample* standard deviation (ddof=1) of the per-fold scores,
  plus the scores of all test utterances of all folds pooled together.

Fractions are in [0, 1] in JSON; text and Markdown show percentages.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence

import numpy as np

from serkit.data.table import KeyTable, PathLike, c_sort_key, read_table
from serkit.errors import SerkitError

logger = logging.getLogger(__name__)

CONVENTIONS = {
    "wa": "fraction of utterances classified correctly",
    "ua": "mean recall over the classes present in the reference",
    "macro_f1": "mean F1 over the classes present in the reference (sklearn f1_score average='macro', "
    "labels=<reference classes>)",
    "confusion": "rows = reference, columns = hypothesis",
    "std": "sample standard deviation across folds (ddof=1)",
}
METRICS = ("ua", "wa", "macro_f1")
METRIC_NAMES = {"ua": "UA", "wa": "WA", "macro_f1": "macro-F1"}


class ScoreError(SerkitError):
    """Reference and hypothesis tables cannot be scored (missing, extra or unknown labels)."""


@dataclass
class ClassScores:
    label: str
    support: int  # reference utterances of this class
    predicted: int  # utterances hypothesised as this class
    correct: int
    precision: Optional[float]
    recall: Optional[float]
    f1: Optional[float]


@dataclass
class Scores:
    labels: List[str]
    confusion: np.ndarray  # [reference, hypothesis] counts
    per_class: List[ClassScores]
    wa: float
    ua: float
    macro_f1: float
    num_missing: int = 0  # reference utterances without a hypothesis (scored only with --allow-missing)

    @property
    def num_utts(self) -> int:
        return int(self.confusion.sum())

    @property
    def reference_classes(self) -> List[str]:
        return [c.label for c in self.per_class if c.support > 0]

    def to_dict(self) -> Dict[str, Any]:
        return {
            "num_utts": self.num_utts,
            "num_missing": self.num_missing,
            "wa": self.wa,
            "ua": self.ua,
            "macro_f1": self.macro_f1,
            "labels": list(self.labels),
            "reference_classes": self.reference_classes,
            "per_class": {
                c.label: {k: getattr(c, k) for k in ("precision", "recall", "f1", "support", "predicted", "correct")}
                for c in self.per_class
            },
            "confusion": self.confusion.astype(int).tolist(),
            "conventions": {k: v for k, v in CONVENTIONS.items() if k != "std"},
        }

    def summary_line(self) -> str:
        return (
            f"utterances {self.num_utts}  UA {_pct(self.ua)}  WA {_pct(self.wa)}  macro-F1 {_pct(self.macro_f1)}"
        )

    def table(self, title: str = "") -> str:
        """Per-class precision/recall/F1 and the confusion matrix as plain text."""
        width = max([len(label) for label in self.labels] + [9])
        lines = [title] if title else []
        lines.append(self.summary_line())
        if self.num_missing:
            lines.append(f"({self.num_missing} reference utterances had no hypothesis and were not scored)")
        lines.append(f"UA: {CONVENTIONS['ua']}; macro-F1: {CONVENTIONS['macro_f1']}")
        lines.append("")
        lines.append(
            f"{'class':<{width}}  {'precision':>9}  {'recall':>7}  {'F1':>7}  {'support':>7}  {'predicted':>9}"
        )
        for c in self.per_class:
            lines.append(
                f"{c.label:<{width}}  {_pct(c.precision):>9}  {_pct(c.recall):>7}  {_pct(c.f1):>7}  "
                f"{c.support:>7}  {c.predicted:>9}"
            )
        lines.append("")
        lines.append("confusion matrix (rows = reference, columns = hypothesis):")
        cell = max([len(label) for label in self.labels] + [len(str(self.confusion.max(initial=0))), 5])
        lines.append(" " * width + "".join(f"  {label:>{cell}}" for label in self.labels))
        for label, row in zip(self.labels, self.confusion):
            lines.append(f"{label:<{width}}" + "".join(f"  {int(n):>{cell}}" for n in row))
        return "\n".join(lines) + "\n"


def _pct(x: Optional[float]) -> str:
    return "-" if x is None else f"{100 * x:.2f}%"


def resolve_labels(ref: Sequence[str], hyp: Sequence[str], labels: Optional[Sequence[str]] = None) -> List[str]:
    """The label set: ``labels`` (checked) or the sorted union of the labels seen."""
    if labels is None:
        return sorted(set(ref) | set(hyp), key=c_sort_key)
    labels = list(labels)
    dup = sorted({label for label in labels if labels.count(label) > 1})
    if dup:
        raise ScoreError(f"label set lists {dup} more than once; each label must appear once")
    known = set(labels)
    for what, seq in (("reference", ref), ("hypothesis", hyp)):
        unknown = sorted(set(seq) - known, key=c_sort_key)
        if unknown:
            raise ScoreError(f"{what} label '{unknown[0]}' is not in the label set {labels}; add it or fix the label")
    return labels


def confusion_matrix(ref: Sequence[str], hyp: Sequence[str], labels: Sequence[str]) -> np.ndarray:
    """Counts with rows = reference class and columns = hypothesised class."""
    index = {label: i for i, label in enumerate(labels)}
    conf = np.zeros((len(labels), len(labels)), dtype=np.int64)
    np.add.at(conf, (np.array([index[r] for r in ref], dtype=np.int64),
                     np.array([index[h] for h in hyp], dtype=np.int64)), 1)
    return conf


def scores_from_confusion(confusion: np.ndarray, labels: Sequence[str], num_missing: int = 0) -> Scores:
    """All scores from a confusion matrix (rows = reference)."""
    conf = np.asarray(confusion, dtype=np.int64)
    if conf.shape != (len(labels), len(labels)):
        raise ScoreError(f"confusion matrix of shape {conf.shape} does not match {len(labels)} labels")
    total = int(conf.sum())
    if total == 0:
        raise ScoreError("no utterances to score")
    support, predicted, correct = conf.sum(axis=1), conf.sum(axis=0), np.diag(conf)
    per_class = []
    for i, label in enumerate(labels):
        s, p, c = int(support[i]), int(predicted[i]), int(correct[i])
        per_class.append(ClassScores(
            label, s, p, c,
            precision=c / p if p else (0.0 if s else None),
            recall=c / s if s else None,
            f1=2 * c / (s + p) if s else None,  # = 2PR / (P + R), 0 when P = R = 0
        ))
    present = [c for c in per_class if c.support > 0]
    return Scores(
        labels=list(labels),
        confusion=conf,
        per_class=per_class,
        wa=float(correct.sum() / total),
        ua=float(np.mean([c.recall for c in present])),
        macro_f1=float(np.mean([c.f1 for c in present])),
        num_missing=num_missing,
    )


def compute_scores(ref: Sequence[str], hyp: Sequence[str], labels: Optional[Sequence[str]] = None) -> Scores:
    """Scores of hypothesis labels ``hyp`` against reference labels ``ref`` (same order)."""
    if len(ref) != len(hyp):
        raise ScoreError(f"{len(ref)} reference labels but {len(hyp)} hypotheses; they must pair up")
    if not ref:
        raise ScoreError("no utterances to score")
    labels = resolve_labels(ref, hyp, labels)
    return scores_from_confusion(confusion_matrix(ref, hyp, labels), labels)


# --------------------------------------------------------------------------- across folds


@dataclass
class Aggregate:
    names: List[str]
    folds: List[Scores]
    pooled: Scores
    mean: Dict[str, float] = field(default_factory=dict)
    std: Dict[str, Optional[float]] = field(default_factory=dict)  # None with a single fold

    def to_dict(self) -> Dict[str, Any]:
        return {
            "num_folds": len(self.folds),
            "folds": [
                {"name": n, "num_utts": s.num_utts, **{m: getattr(s, m) for m in METRICS}}
                for n, s in zip(self.names, self.folds)
            ],
            "mean": dict(self.mean),
            "std": dict(self.std),
            "std_ddof": 1,
            "pooled": self.pooled.to_dict(),
            "conventions": dict(CONVENTIONS),
        }

    def markdown(self, title: str = "") -> str:
        """Per-fold rows, mean ± std, pooled; then the pooled confusion matrix."""
        def pm(m: str) -> str:
            sd = self.std[m]
            return f"{100 * self.mean[m]:.2f} ± " + (f"{100 * sd:.2f}" if sd is not None else "n/a")

        out = [f"# {title or f'Scores over {len(self.folds)} folds'}", ""]
        out.append("| fold | UA (%) | WA (%) | macro-F1 (%) | test utterances |")
        out.append("|---|---:|---:|---:|---:|")
        for name, s in zip(self.names, self.folds):
            out.append(f"| {_md(name)} | {100 * s.ua:.2f} | {100 * s.wa:.2f} | {100 * s.macro_f1:.2f} | {s.num_utts} |")
        total = sum(s.num_utts for s in self.folds)
        out.append(f"| **mean ± std** | {pm('ua')} | {pm('wa')} | {pm('macro_f1')} | {total} |")
        p = self.pooled
        out.append(f"| **pooled** | {100 * p.ua:.2f} | {100 * p.wa:.2f} | {100 * p.macro_f1:.2f} | {p.num_utts} |")
        out.append("")
        out.append(f"std: {CONVENTIONS['std']}. Pooled: the scores of all test utterances of all folds together. "
                   f"UA: {CONVENTIONS['ua']}. macro-F1: {CONVENTIONS['macro_f1']}.")
        out.append("")
        out.append("## Pooled confusion matrix (rows = reference, columns = hypothesis)")
        out.append("")
        out.append("| reference \\ hypothesis | " + " | ".join(_md(label) for label in p.labels) + " |")
        out.append("|---|" + "---:|" * len(p.labels))
        for label, row in zip(p.labels, p.confusion):
            out.append(f"| {_md(label)} | " + " | ".join(str(int(n)) for n in row) + " |")
        return "\n".join(out) + "\n"


def _md(text: str) -> str:
    return text.replace("|", "\\|")


def _union_labels(fold_scores: Sequence[Scores]) -> List[str]:
    labels: List[str] = []
    for s in fold_scores:
        labels += [label for label in s.labels if label not in labels]
    return labels


def _reindex(scores: Scores, labels: Sequence[str]) -> np.ndarray:
    idx = [labels.index(label) for label in scores.labels]
    conf = np.zeros((len(labels), len(labels)), dtype=np.int64)
    conf[np.ix_(idx, idx)] = scores.confusion
    return conf


def aggregate(
    fold_scores: Sequence[Scores],
    pooled_ref: Optional[Sequence[str]] = None,
    pooled_hyp: Optional[Sequence[str]] = None,
    *,
    labels: Optional[Sequence[str]] = None,
    names: Optional[Sequence[str]] = None,
) -> Aggregate:
    """Mean and sample std (ddof=1) of UA/WA/macro-F1 over folds, and the pooled scores.

    The pooled scores come from ``pooled_ref``/``pooled_hyp`` (all test utterances of all
    folds) when given, which must then agree with the sum of the folds' confusion matrices;
    without them the folds' confusion matrices are summed.
    """
    if not fold_scores:
        raise ScoreError("aggregate: no folds given")
    names = list(names) if names is not None else [f"fold{i + 1}" for i in range(len(fold_scores))]
    if len(names) != len(fold_scores):
        raise ScoreError(f"aggregate: {len(names)} names for {len(fold_scores)} folds")
    labels = list(labels) if labels is not None else _union_labels(fold_scores)
    for name, s in zip(names, fold_scores):
        extra = [label for label in s.labels if label not in labels]
        if extra:
            raise ScoreError(f"aggregate: fold '{name}' has labels {extra} that are not in the label set {labels}")
    summed = sum(_reindex(s, labels) for s in fold_scores)
    if (pooled_ref is None) != (pooled_hyp is None):
        raise ScoreError("aggregate: give both pooled reference and pooled hypothesis labels, or neither")
    if pooled_ref is not None:
        pooled = compute_scores(pooled_ref, pooled_hyp, labels)
        if not np.array_equal(pooled.confusion, summed):
            raise ScoreError(
                f"aggregate: the pooled labels ({pooled.num_utts} utterances) are not the union of the folds' test "
                f"utterances ({int(summed.sum())} in the folds' confusion matrices); pool exactly the folds' test sets"
            )
    else:
        pooled = scores_from_confusion(summed, labels)
    pooled.num_missing = sum(s.num_missing for s in fold_scores)
    mean: Dict[str, float] = {}
    std: Dict[str, Optional[float]] = {}
    for m in METRICS:
        values = np.array([getattr(s, m) for s in fold_scores], dtype=np.float64)
        mean[m] = float(values.mean())
        std[m] = float(values.std(ddof=1)) if len(values) > 1 else None
    if len(fold_scores) == 1:
        logger.warning("aggregate: only one fold; the standard deviation is undefined")
    return Aggregate(names, list(fold_scores), pooled, mean, std)


# --------------------------------------------------------------------------- label tables


@dataclass
class Paired:
    utts: List[str]
    ref: List[str]
    hyp: List[str]
    missing: List[str]  # reference utterances without a hypothesis


def read_label_table(path: PathLike) -> KeyTable:
    """``<utt> <label>`` lines; a value with more than one field is refused with ``file:line``."""
    table = read_table(path)
    for key, value in table.items():
        if len(value.split()) != 1:
            raise ScoreError(
                f"{table.where(key)}: expected '<utt> <label>' with a single-word label, got '{key} {value}'"
            )
    return table


def pair_tables(
    ref: KeyTable, hyp: KeyTable, *, labels: Optional[Sequence[str]] = None, allow_missing: bool = False
) -> Paired:
    """Pair reference and hypothesis labels by utterance, in reference order.

    A hypothesis for an utterance not in the reference is always an error (wrong test set);
    a reference utterance without a hypothesis is one unless ``allow_missing`` (then it is
    counted, logged and left out).
    """
    extra = [u for u in hyp if u not in ref]
    if extra:
        raise ScoreError(
            f"{hyp.where(extra[0])}: utterance '{extra[0]}' has a hypothesis but no reference label in {ref.path} "
            f"({len(extra)} such utterances); score against the reference of the same test set"
        )
    missing = [u for u in ref if u not in hyp]
    if missing and not allow_missing:
        raise ScoreError(
            f"{ref.where(missing[0])}: utterance '{missing[0]}' has no hypothesis in {hyp.path} ({len(missing)} of "
            f"{len(ref)} reference utterances have none); decode them, or pass --allow-missing to score only the rest"
        )
    if labels is not None:
        known = set(labels)
        for table, what in ((ref, "reference"), (hyp, "hypothesis")):
            for utt, label in table.items():
                if label not in known:
                    raise ScoreError(
                        f"{table.where(utt)}: {what} label '{label}' of '{utt}' is not in the label set "
                        f"{list(labels)}; "
                        f"add it to the labels file or fix the label"
                    )
    if missing:
        logger.warning(
            "%d of %d reference utterances have no hypothesis in %s and are not scored (e.g. '%s')",
            len(missing), len(ref), hyp.path, missing[0],
        )
    utts = [u for u in ref if u in hyp]
    if not utts:
        raise ScoreError(f"{hyp.path}: no hypothesis for any utterance of {ref.path}; nothing to score")
    return Paired(utts, [ref[u] for u in utts], [hyp[u] for u in utts], missing)

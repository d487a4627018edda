"""Load a data directory's features and labels into memory as :class:`Example` records.

Features come from ``feats.scp``; CMVN is applied per utterance through ``utt2spk`` and
``cmvn.scp`` (per-speaker or global stats, as compute_cmvn_stats.sh wrote them). Labels come
from ``utt2emo`` and are mapped to indices through a fixed label list.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence

import numpy as np

from serkit.data.datadir import DataDir
from serkit.data.table import PathLike, atomic_write_text, read_table
from serkit.errors import DataDirError, SerkitError
from serkit.feats.ark import load_matrix
from serkit.feats.cmvn import apply_cmvn
from serkit.utils.progress import progress

logger = logging.getLogger(__name__)


@dataclass
class Example:
    utt: str
    feats: np.ndarray  # [frames, dim] float32, CMVN applied
    label: int  # index into the label list; -1 when unlabelled
    speaker: str


def read_labels(path: PathLike) -> List[str]:
    """A label list file: one label per line, in class-index order."""
    labels = list(read_table(path, value_required=False))
    if len(labels) < 2:
        raise SerkitError(f"{path}: needs at least two labels, found {len(labels)}")
    return labels


def write_labels(path: PathLike, labels: Sequence[str]) -> None:
    atomic_write_text(path, "".join(f"{label}\n" for label in labels))


def labels_of(data_dir: PathLike) -> List[str]:
    """The sorted set of labels in a data directory's utt2emo."""
    return sorted(set(DataDir(data_dir).table("utt2emo").values()))


def load_examples(
    data_dir: PathLike,
    labels: Optional[Sequence[str]],
    *,
    cmvn: bool = True,
    norm_vars: bool = True,
    unknown_labels: str = "error",
    show_progress: bool = True,
) -> List[Example]:
    """Read every utterance of ``data_dir``.

    ``labels=None`` reads unlabelled data (label -1). ``unknown_labels``: ``error`` (default) stops
    at a label outside ``labels``, naming the file and line; ``skip`` leaves such utterances out
    and logs how many (for a test set restricted to shared classes).
    """
    d = DataDir(data_dir)
    feats = d.table("feats.scp")
    utt2spk = d.table("utt2spk")
    utt2emo = d.table("utt2emo") if labels is not None else None
    cmvn_table = d.table("cmvn.scp") if cmvn else None
    index = {label: i for i, label in enumerate(labels)} if labels is not None else {}
    stats_cache: Dict[str, np.ndarray] = {}
    examples, skipped = [], 0
    for utt in progress(list(utt2spk), f"load {d.path}", unit="utt", disable=not show_progress):
        if utt not in feats:
            raise DataDirError(f"{feats.path}: no features for '{utt}'; run 'utils/fix_data_dir.sh {d.path}'")
        label = -1
        if utt2emo is not None:
            if utt not in utt2emo:
                raise DataDirError(f"{utt2emo.path}: no label for '{utt}'; add it or run 'utils/fix_data_dir.sh {d.path}'")
            if utt2emo[utt] not in index:
                if unknown_labels == "skip":
                    skipped += 1
                    continue
                raise DataDirError(
                    f"{utt2emo.where(utt)}: label '{utt2emo[utt]}' of '{utt}' is not among the model's labels "
                    f"({', '.join(labels)}); map it in data preparation or restrict the set to known labels"
                )
            label = index[utt2emo[utt]]
        mat = load_matrix(feats[utt], f"{feats.where(utt)} ('{utt}')")
        if cmvn_table is not None:
            spk = utt2spk[utt]
            if spk not in stats_cache:
                if spk not in cmvn_table:
                    raise DataDirError(f"{cmvn_table.path}: no stats for speaker '{spk}'; rerun utils/compute_cmvn_stats.sh")
                stats_cache[spk] = load_matrix(cmvn_table[spk], f"{cmvn_table.where(spk)} ('{spk}')")
            mat = apply_cmvn(mat, stats_cache[spk], norm_vars=norm_vars)
        examples.append(Example(utt, np.ascontiguousarray(mat, dtype=np.float32), label, utt2spk[utt]))
    if skipped:
        logger.warning("%s: left out %d utterances whose label is not among %s", d.path, skipped, list(labels))
    if not examples:
        raise DataDirError(f"{d.path}: no usable utterances")
    return examples

"""Load a data directory's features and labels into memory as :class:`Example` records.

Features come from ``feats.scp``; CMVN is applied per utterance through ``utt2spk`` and
``cmvn.scp`` (per-speaker or global stats, as compute_cmvn_stats.sh wrote them). Labels come
from ``utt2emo`` and are mapped to indices through a fixed label list. With ``text=True`` the
transcript comes from ``text`` (None when the table or the utterance's line is missing, or empty);
token ids are added later, by the pipeline's :func:`serkit.loader.pipeline.tokenized`.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from serkit.data.datadir import DataDir
from serkit.data.table import PathLike
from serkit.errors import DataDirError
from serkit.feats.ark import load_matrix
from serkit.feats.cmvn import apply_cmvn, mean_std
from serkit.utils.progress import progress

logger = logging.getLogger(__name__)


@dataclass
class Example:
    utt: str
    feats: np.ndarray  # [frames, dim] float32, CMVN applied
    label: int  # index into the label list; -1 when unlabelled
    speaker: str
    cmvn: Optional[Tuple[np.ndarray, np.ndarray]] = None  # (mean, std) applied; std is 1 without norm_vars
    text: Optional[str] = None  # transcript; None when the utterance has none
    tokens: Optional[np.ndarray] = None  # int64 token ids once tokenized (empty: no text)
    corpus: str = ""  # from utt2corpus when the data pools several corpora
    source: str = ""  # from utt2source for an augmented copy: the utterance it was made from


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
    text: bool = False,
) -> List[Example]:
    """Read every utterance of ``data_dir``.

    ``labels=None`` reads unlabelled data (label -1). ``unknown_labels``: ``error`` (default) stops
    at a label outside ``labels``, naming the file and line; ``skip`` leaves such utterances out
    and logs how many (for a test set restricted to shared classes). ``text``: also read the
    transcripts (``<data_dir>/text``; utterances without one get ``None``, and how many is logged).
    """
    d = DataDir(data_dir)
    texts = d.optional("text") if text else None
    if text and texts is None:
        logger.warning("%s has no 'text' table: every utterance gets the models' 'no text' input", d.path)
    feats = d.table("feats.scp")
    utt2spk = d.table("utt2spk")
    utt2corpus = d.optional("utt2corpus")
    utt2source = d.optional("utt2source")
    utt2emo = d.table("utt2emo") if labels is not None else None
    cmvn_table = d.table("cmvn.scp") if cmvn else None
    index = {label: i for i, label in enumerate(labels)} if labels is not None else {}
    stats_cache: Dict[str, np.ndarray] = {}
    norm_cache: Dict[str, Tuple[np.ndarray, np.ndarray]] = {}
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
        norm = None
        if cmvn_table is not None:
            spk = utt2spk[utt]
            if spk not in stats_cache:
                if spk not in cmvn_table:
                    raise DataDirError(f"{cmvn_table.path}: no stats for speaker '{spk}'; rerun utils/compute_cmvn_stats.sh")
                stats_cache[spk] = load_matrix(cmvn_table[spk], f"{cmvn_table.where(spk)} ('{spk}')")
                mean, std = mean_std(stats_cache[spk])
                norm_cache[spk] = (mean.astype(np.float32), (std if norm_vars else np.ones_like(std)).astype(np.float32))
            mat = apply_cmvn(mat, stats_cache[spk], norm_vars=norm_vars)
            norm = norm_cache[spk]
        transcript = (texts.get(utt) or None) if texts is not None else None
        corpus = (utt2corpus.get(utt) or "") if utt2corpus is not None else ""
        source = (utt2source.get(utt) or "") if utt2source is not None else ""
        examples.append(Example(utt, np.ascontiguousarray(mat, dtype=np.float32), label, utt2spk[utt], norm, transcript,
                                corpus=corpus, source=source))
    if texts is not None:
        missing = sum(ex.text is None for ex in examples)
        if missing:
            logger.info("%s: %d of %d utterances have no transcript", d.path, missing, len(examples))
    if skipped:
        logger.warning("%s: left out %d utterances whose label is not among %s", d.path, skipped, list(labels))
    if not examples:
        raise DataDirError(f"{d.path}: no usable utterances")
    return examples


LOG_POWER_FEATURES = ("logmel", "fbank", "spectrogram")


def feats_type(data_dir: PathLike) -> Optional[str]:
    """The feature type make_feats.sh recorded in ``<data_dir>/feats_type`` (None if absent)."""
    path = DataDir(data_dir).file("feats_type")
    return path.read_text().strip() if path.is_file() else None


def load_noise_bank(noise_dir: PathLike, expected_type: Optional[str]) -> List[np.ndarray]:
    """Raw (un-normalised) log-power features of noise recordings, for online noise mixing."""
    kind = feats_type(noise_dir)
    if kind not in LOG_POWER_FEATURES:
        raise DataDirError(
            f"{noise_dir}: online noise mixing needs log-power features ({', '.join(LOG_POWER_FEATURES)}), "
            f"the directory's feats_type is {kind!r}; extract them with utils/make_feats.sh"
        )
    if expected_type is not None and kind != expected_type:
        raise DataDirError(f"{noise_dir} has {kind} features but the training data has {expected_type}; use the same conf/feats.yaml")
    table = DataDir(noise_dir).table("feats.scp")
    bank = [load_matrix(v, f"{table.where(k)} ('{k}')") for k, v in table.items()]
    return [np.ascontiguousarray(m, dtype=np.float32) for m in bank]


def raw_feature_stats(examples: Sequence[Example]) -> np.ndarray:
    """Kaldi CMVN stats of the examples' features *before* their CMVN (undone with each example's
    own mean/std): the global statistics a deployment without speaker statistics can use."""
    from serkit.feats.cmvn import accumulate

    def raw(ex: Example) -> np.ndarray:
        return ex.feats if ex.cmvn is None else ex.feats * ex.cmvn[1] + ex.cmvn[0]

    return accumulate(raw(ex) for ex in examples)

"""Canonical emotion labels across corpora (``egs/cross_corpus/conf/labels.yaml``)."""
from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence

from serkit.data.datadir import DataDir
from serkit.data.ops import subset_data_dir
from serkit.data.table import PathLike, write_table
from serkit.errors import ConfigError, DataDirError
from serkit.utils.config import from_dict, load_yaml

logger = logging.getLogger(__name__)


@dataclass
class LabelMap:
    canonical: List[str] = field(default_factory=list)
    corpora: Dict[str, Dict[str, Optional[str]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for corpus, mapping in self.corpora.items():
            bad = sorted({v for v in mapping.values() if v is not None and v not in self.canonical})
            if bad:
                raise ValueError(f"corpus '{corpus}' maps to labels {bad} that are not in 'canonical'")

    def for_corpus(self, corpus: str) -> Dict[str, Optional[str]]:
        if corpus not in self.corpora:
            raise ConfigError(f"no label mapping for corpus '{corpus}'; known: {', '.join(sorted(self.corpora))}")
        return self.corpora[corpus]

    def labels(self, corpus: str) -> List[str]:
        return sorted({v for v in self.for_corpus(corpus).values() if v is not None})


def load_label_map(path: PathLike) -> LabelMap:
    return from_dict(LabelMap, load_yaml(path))


def shared_labels(label_map: LabelMap, train: Sequence[str], test: str) -> List[str]:
    """Labels every training corpus and the test corpus have after mapping."""
    common = set(label_map.labels(test))
    for corpus in train:
        common &= set(label_map.labels(corpus))
    if len(common) < 2:
        raise ConfigError(f"corpora {list(train)} and '{test}' share fewer than two labels ({sorted(common)})")
    return sorted(common)


def map_data_dir(src: PathLike, dst: PathLike, mapping: Dict[str, Optional[str]], keep: Optional[Sequence[str]] = None) -> Counter:
    """Copy ``src`` to ``dst`` with mapped labels, leaving out utterances whose label maps to
    nothing or is not in ``keep``; returns the kept label counts (and logs what was left out)."""
    d = DataDir(src)
    utt2emo = d.table("utt2emo")
    unknown = sorted({e for e in utt2emo.values() if e not in mapping})
    if unknown:
        raise DataDirError(f"{utt2emo.path}: labels {unknown} have no entry in the corpus's label mapping; add them")
    mapped = {u: mapping[e] for u, e in utt2emo.items() if mapping[e] is not None and (keep is None or mapping[e] in keep)}
    dropped = Counter(utt2emo[u] for u in utt2emo if u not in mapped)
    if not mapped:
        raise DataDirError(f"{src}: no utterance left after mapping labels (kept: {keep})")
    subset_data_dir(src, dst, utts=sorted(mapped))
    write_table(DataDir(dst).file("utt2emo"), mapped)
    if dropped:
        logger.info("%s -> %s: left out %s", src, dst, ", ".join(f"{n} {e}" for e, n in sorted(dropped.items())))
    return Counter(mapped.values())

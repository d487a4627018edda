"""A Kaldi data directory: which tables it holds, keyed by what, and lazy access to them."""
from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Dict, List, Optional

from serkit.data.audio import DEFAULT_SAMPLE_RATE, AudioLoader, Segment
from serkit.data.table import KeyTable, PathLike, read_table
from serkit.errors import DataDirError, TableError

logger = logging.getLogger(__name__)

# Tables keyed by utterance id.
UTT_TABLES = (
    "utt2spk", "utt2emo", "text", "utt2dur", "utt2gender", "feats.scp", "utt2num_frames", "segments", "utt2aug",
    "utt2corpus",  # pooled corpora (serkit.bin.pool_corpora): which corpus each utterance comes from
    "utt2source",  # augmented copies (serkit.bin.fold_variants): the utterance each was made from
)
# Tables keyed by speaker id.
SPK_TABLES = ("spk2utt", "cmvn.scp", "spk2gender")
# Tables keyed by recording id (= utterance id when there is no ``segments``).
RECO_TABLES = ("wav.scp", "reco2dur")
ALL_TABLES = UTT_TABLES + SPK_TABLES + RECO_TABLES
# Tables whose value may be empty (an utterance can have an empty transcript).
EMPTY_VALUE_OK = ("text",)


class DataDir:
    """Read access to ``<dir>/{wav.scp,utt2spk,...}``; tables are read once, on first use."""

    def __init__(self, path: PathLike) -> None:
        self.path = Path(path)
        if not self.path.is_dir():
            raise DataDirError(f"{self.path}: not a directory; expected a Kaldi data directory")
        self._tables: Dict[str, KeyTable] = {}

    def __repr__(self) -> str:
        return f"DataDir({str(self.path)!r})"

    def file(self, name: str) -> Path:
        return self.path / name

    def has(self, name: str) -> bool:
        return self.file(name).is_file()

    def table(self, name: str) -> KeyTable:
        if name not in self._tables:
            if not self.has(name):
                raise DataDirError(f"{self.file(name)}: missing; {_how_to_make(name)}")
            self._tables[name] = read_table(self.file(name), value_required=name not in EMPTY_VALUE_OK)
        return self._tables[name]

    def optional(self, name: str) -> Optional[KeyTable]:
        return self.table(name) if self.has(name) else None

    def tables(self) -> List[str]:
        """The known tables present in this directory."""
        return [name for name in ALL_TABLES if self.has(name)]

    @property
    def utts(self) -> List[str]:
        return list(self.table("utt2spk"))

    def segments(self) -> Optional[Dict[str, Segment]]:
        """Parse ``segments`` (``utt reco start end``) or return None if absent."""
        table = self.optional("segments")
        if table is None:
            return None
        out: Dict[str, Segment] = {}
        for utt, value in table.items():
            fields = value.split()
            try:
                if len(fields) != 3:
                    raise ValueError
                start, end = float(fields[1]), float(fields[2])
            except ValueError:
                raise TableError(
                    f"{table.where(utt)}: expected '<utt> <recording> <start-sec> <end-sec>', got '{utt} {value}'"
                ) from None
            if start < 0 or (end != -1 and end <= start):
                raise TableError(f"{table.where(utt)}: segment '{utt}' has end {end} <= start {start}")
            out[utt] = Segment(fields[0], start, end)
        return out

    def audio_loader(self, sample_rate: int = DEFAULT_SAMPLE_RATE) -> AudioLoader:
        wav = self.table("wav.scp")
        return AudioLoader(dict(wav), self.segments(), sample_rate, where=str(self.file("wav.scp")))


def _how_to_make(name: str) -> str:
    hints = {
        "spk2utt": "create it with 'utils/utt2spk_to_spk2utt.pl <dir>/utt2spk > <dir>/spk2utt'",
        "utt2spk": "every data directory needs one ('<utt> <speaker>' per line; see the corpus's local/prepare_data.py)",
        "utt2emo": "every training or scoring directory needs '<utt> <emotion>' lines",
        "feats.scp": "extract features first with utils/make_feats.sh",
        "cmvn.scp": "compute it with utils/compute_cmvn_stats.sh",
        "utt2num_frames": "utils/make_feats.sh writes it together with feats.scp",
        "wav.scp": "data preparation must write '<recording> <path or command |>' lines",
    }
    return hints.get(name, "create it or remove what needs it")


def ensure_dir(path: PathLike) -> Path:
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    return path


def is_same_dir(a: PathLike, b: PathLike) -> bool:
    return os.path.realpath(a) == os.path.realpath(b)

"""Shared pieces of corpus preparation: one record per utterance in, a data directory out.

A corpus's ``local/prepare_data.py`` only parses its own file names and label files into
:class:`Utterance` records; everything else (checking that files really are audio, counting
and logging what could not be used, writing sorted tables) lives here.
"""
from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence

import soundfile as sf

from serkit.data.datadir import ensure_dir
from serkit.data.table import PathLike, invert_multimap, write_table
from serkit.errors import DataDirError
from serkit.utils.atomic import atomic_write_text

logger = logging.getLogger(__name__)

# Documentation and label files that sit beside the audio in corpus releases.
DOC_SUFFIXES = (".txt", ".csv", ".md", ".pdf", ".xls", ".xlsx", ".doc", ".docx", ".html", ".lab", ".json", ".xml")


@dataclass
class Utterance:
    utt: str
    path: str
    speaker: str
    emotion: str
    gender: Optional[str] = None  # "m" / "f"
    text: Optional[str] = None
    duration: Optional[float] = None
    extra: Dict[str, str] = field(default_factory=dict)


@dataclass
class PrepReport:
    """What data preparation could not use, kept for the log and for the user."""

    rejected: List[str] = field(default_factory=list)

    def reject(self, path: PathLike, reason: str) -> None:
        self.rejected.append(f"{path}: {reason}")
        logger.warning("not used: %s: %s", path, reason)


def find_audio(root: PathLike, report: PrepReport, ignore_suffixes: Sequence[str] = DOC_SUFFIXES) -> List[Path]:
    """Audio files under ``root``, recognised by content, not by extension.

    Files with a documentation/label suffix are passed over; every other file that soundfile
    cannot open is reported as a reject, so stray files never vanish silently.
    """
    root = Path(root)
    if not root.is_dir():
        raise DataDirError(f"corpus root '{root}' is not a directory; pass the folder of the original release")
    out = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        if path.name.startswith(".") or path.suffix.lower() in ignore_suffixes:
            continue
        try:
            sf.info(str(path))
        except Exception as err:  # soundfile raises several types for foreign content
            report.reject(path, f"not readable audio ({type(err).__name__})")
            continue
        out.append(path)
    return out


def probe_duration(path: PathLike) -> float:
    info = sf.info(str(path))
    return info.frames / info.samplerate


def write_data_dir(dest: PathLike, utts: Sequence[Utterance], report: Optional[PrepReport] = None) -> Path:
    """Write wav.scp, utt2spk, spk2utt, utt2emo and the optional tables; log the rejects."""
    dest = ensure_dir(dest)
    if not utts:
        raise DataDirError(f"no usable utterances for {dest}; check the corpus root and the log above")
    seen: Dict[str, str] = {}
    for u in utts:
        if u.utt in seen:
            raise DataDirError(f"utterance id '{u.utt}' made from both {seen[u.utt]} and {u.path}")
        seen[u.utt] = u.path
    write_table(dest / "wav.scp", {u.utt: str(Path(u.path).resolve()) for u in utts})
    utt2spk = {u.utt: u.speaker for u in utts}
    write_table(dest / "utt2spk", utt2spk)
    write_table(dest / "spk2utt", invert_multimap(utt2spk))
    write_table(dest / "utt2emo", {u.utt: u.emotion for u in utts})
    if all(u.gender for u in utts):
        write_table(dest / "utt2gender", {u.utt: u.gender for u in utts})
    if any(u.text is not None for u in utts):
        write_table(dest / "text", {u.utt: u.text or "" for u in utts})
    write_table(dest / "utt2dur", {u.utt: f"{u.duration if u.duration else probe_duration(u.path):.3f}" for u in utts})
    if report is not None:
        body = "".join(f"{line}\n" for line in report.rejected)
        atomic_write_text(dest / "rejected.txt", body)
    return dest


def check_counts(utts: Iterable[Utterance], expected_total: int, corpus: str, expected_per_emotion: Optional[Dict[str, int]] = None) -> None:
    """Warn (not fail) when the corpus does not have the counts of the official release."""
    utts = list(utts)
    if len(utts) != expected_total:
        logger.warning("%s: found %d utterances, the original release has %d", corpus, len(utts), expected_total)
    if expected_per_emotion:
        have = Counter(u.emotion for u in utts)
        for emo, n in expected_per_emotion.items():
            if have.get(emo, 0) != n:
                logger.warning("%s: %d '%s' utterances, the original release has %d", corpus, have.get(emo, 0), emo, n)


def summary(utts: Sequence[Utterance]) -> str:
    emos = Counter(u.emotion for u in utts)
    spks = len({u.speaker for u in utts})
    per = ", ".join(f"{e} {n}" for e, n in sorted(emos.items()))
    return f"{len(utts)} utterances, {spks} speakers ({per})"


def finish_preparation(data_dir: PathLike, utts: Sequence[Utterance], report: PrepReport, corpus: str,
                       expected_total: int, expected_per_emotion: Optional[Dict[str, int]] = None,
                       what: str = "files") -> str:
    """The last step of a corpus's ``local/prepare_data.py``: compare the counts with the official
    release (warnings), write the data directory, and return the one-line summary to print."""
    check_counts(utts, expected_total, corpus, expected_per_emotion)
    write_data_dir(data_dir, utts, report)
    return (f"prepare_data: {data_dir}: {summary(utts)}; {len(report.rejected)} {what} not used"
            + (f" (listed in {data_dir}/rejected.txt)" if report.rejected else ""))

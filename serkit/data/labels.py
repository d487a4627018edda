"""Label spellings and utterance checks shared by the corpus preparation scripts.

Corpus releases spell their emotion labels inconsistently between copies (``OAF_Fear``,
``YAF_pleasant_surprised``, ``ps``, ``Sad``...). :class:`LabelSpellings` maps every spelling onto the
canonical English tokens (:data:`CANONICAL`) and remembers each spelling it had to map, so that the
log says exactly what was reinterpreted::

    mapped emotion spelling 'pleasant_surprised' -> surprise (400 files)

A spelling is looked up, in order: exactly among the corpus's official spellings (not logged);
case- and punctuation-insensitively among the official spellings, the canonical tokens and the
common English aliases (:data:`ALIASES`) (logged at INFO); as a close misspelling of one of those
(difflib ratio >= 0.8, spellings of 4 characters or more; logged as a WARNING). Only the labels
the corpus has are ever returned; anything else is unknown and the caller rejects the file with a
reason.

:func:`drop_unusable` is the last step before ``write_data_dir``: it rejects a second file with an
utterance id already used (a duplicated copy inside the release) and audio without samples.
"""
from __future__ import annotations

import difflib
import logging
import re
import statistics
from collections import Counter
from dataclasses import dataclass
from typing import Dict, Iterable, List, Mapping, Optional, Set, Tuple, Union

import soundfile as sf

from serkit.data.corpus import PrepReport, Utterance

logger = logging.getLogger(__name__)

CANONICAL = ("angry", "bored", "calm", "disgust", "fear", "happy", "neutral", "sad", "surprise")

# Common spellings of the canonical labels (keys normalised by :func:`normalise_spelling`).
ALIASES: Dict[str, str] = {
    "anger": "angry", "ang": "angry",
    "boredom": "bored", "bor": "bored",
    "disgusted": "disgust", "dis": "disgust",
    "fearful": "fear", "fea": "fear", "afraid": "fear", "anxiety": "fear",
    "happiness": "happy", "hap": "happy", "joy": "happy",
    "neu": "neutral",
    "sadness": "sad",
    "surprised": "surprise", "sur": "surprise", "ps": "surprise",
    "pleasant_surprise": "surprise", "pleasant_surprised": "surprise", "pleasantly_surprised": "surprise",
}

FUZZY_CUTOFF = 0.8
FUZZY_MIN_LENGTH = 4
MIN_DURATION = 0.001  # seconds; utt2dur has 3 decimals and must be positive
_NON_ALNUM = re.compile(r"[^a-z0-9]+")


def normalise_spelling(spelling: str) -> str:
    """Lower case, runs of other characters as one ``_``: ``'Pleasant surprise'`` -> ``'pleasant_surprise'``."""
    return _NON_ALNUM.sub("_", spelling.lower()).strip("_")


@dataclass(frozen=True)
class MappedSpelling:
    spelling: str
    label: str
    count: int
    close_to: Optional[str]  # the known spelling a misspelling was matched to; None for exact aliases

    def describe(self, what: str) -> str:
        how = f"close match to '{self.close_to}'; " if self.close_to else ""
        files = "file" if self.count == 1 else "files"
        return f"mapped {what} spelling '{self.spelling}' -> {self.label} ({how}{self.count} {files})"


class LabelSpellings:
    """Tolerant ``spelling -> canonical label`` lookup that records every non-official spelling.

    ``official``: the corpus's own spellings, exactly as the release writes them (a list of
    canonical tokens, or a code table such as ``{"ANG": "angry"}``); ``aliases``: further spellings
    accepted case-insensitively (default :data:`ALIASES`; the canonical tokens always are);
    ``allowed``: the labels the corpus has (default: those of ``official``): a spelling of any
    other label is unknown, so ``calm`` never enters a corpus without calm.
    """

    def __init__(
        self,
        official: Union[Mapping[str, str], Iterable[str]] = CANONICAL,
        *,
        what: str = "emotion",
        aliases: Optional[Mapping[str, str]] = None,
        allowed: Optional[Iterable[str]] = None,
        fuzzy: bool = True,
    ) -> None:
        self.official: Dict[str, str] = dict(official) if isinstance(official, Mapping) else {s: s for s in official}
        self.what = what
        self.fuzzy = fuzzy
        self.allowed = set(self.official.values()) if allowed is None else set(allowed)
        known: Dict[str, str] = {c: c for c in CANONICAL}
        known.update(ALIASES if aliases is None else {normalise_spelling(k): v for k, v in aliases.items()})
        known.update({normalise_spelling(k): v for k, v in self.official.items()})
        self.known = {k: v for k, v in known.items() if v in self.allowed}
        self._seen: Dict[str, Set[str]] = {}
        self._label: Dict[str, str] = {}
        self._close: Dict[str, Optional[str]] = {}

    def resolve(self, spelling: str) -> Tuple[Optional[str], Optional[str]]:
        """``(label, close_to)`` for ``spelling`` without recording it; label None when unknown."""
        if spelling in self.official:
            return self.official[spelling], None
        key = normalise_spelling(spelling)
        if key in self.known:
            return self.known[key], None
        if self.fuzzy and len(key) >= FUZZY_MIN_LENGTH:
            close = difflib.get_close_matches(key, list(self.known), n=1, cutoff=FUZZY_CUTOFF)
            if close:
                return self.known[close[0]], close[0]
        return None, None

    def lookup(self, spelling: str, item: str = "") -> Optional[str]:
        """The canonical label of ``spelling`` (None when unknown); ``item`` (e.g. the file) is
        counted once per spelling for the mapping log."""
        label, close = self.resolve(spelling)
        if label is not None and spelling not in self.official:
            self._seen.setdefault(spelling, set()).add(item)
            self._label[spelling] = label
            self._close[spelling] = close
        return label

    def known_spellings(self) -> str:
        """The official spellings, for error messages."""
        return ", ".join(sorted(self.official))

    def mappings(self) -> List[MappedSpelling]:
        """Every spelling that was mapped onto a label, most frequent first."""
        out = [MappedSpelling(s, self._label[s], len(items), self._close[s]) for s, items in self._seen.items()]
        return sorted(out, key=lambda m: (-m.count, m.spelling))

    def log_mappings(self, log: Optional[logging.Logger] = None) -> None:
        """One line per mapped spelling: INFO for known aliases, WARNING for guessed misspellings."""
        log = log or logger
        for m in self.mappings():
            log.log(logging.WARNING if m.close_to else logging.INFO, "%s", m.describe(self.what))


def drop_unusable(utts: Iterable[Utterance], report: PrepReport) -> List[Utterance]:
    """The utterances that can be written: ids unique and whitespace-free, audio with samples.

    A second file with an id already taken (e.g. a duplicated folder in the copy) is rejected,
    naming the first; the duration probed here is kept so ``write_data_dir`` does not probe again.
    """
    first: Dict[str, str] = {}
    out: List[Utterance] = []
    for u in utts:
        if not u.utt or re.search(r"\s", u.utt):
            report.reject(u.path, f"utterance id {u.utt!r} is empty or contains whitespace")
            continue
        if u.utt in first:
            report.reject(u.path, f"utterance id '{u.utt}' is already used by {first[u.utt]} (a duplicate copy?)")
            continue
        info = sf.info(u.path)
        if info.samplerate <= 0 or info.frames / info.samplerate < MIN_DURATION:
            report.reject(u.path, f"audio holds {info.frames} samples (under {MIN_DURATION * 1000:.0f} ms): "
                                  "empty or truncated")
            continue
        first[u.utt] = u.path
        u.duration = info.frames / info.samplerate
        out.append(u)
    return out


def log_skipped(counts: Mapping[str, int], corpus: str, log: Optional[logging.Logger] = None) -> None:
    """Log files left out on purpose (by option or by protocol), one line per reason."""
    log = log or logger
    for reason, n in sorted(counts.items()):
        if n:
            log.info("%s: left out %d %s", corpus, n, reason)


# A class with fewer examples than this (or than 5% of the median class) is reported: a typo such
# as 'angyr' makes a class of one or two utterances.
FEW_EXAMPLES = 5


def _first_lines(utt2emo: Mapping[str, str], where) -> Dict[str, str]:
    first: Dict[str, str] = {}
    for utt, label in utt2emo.items():
        first.setdefault(label, utt)
    return {label: (where(utt) if where is not None else f"utterance '{utt}'") for label, utt in first.items()}


def non_canonical_labels(utt2emo: Mapping[str, str], where=None) -> List[str]:
    """A warning for each label of a ``utt2emo`` table that is not in :data:`CANONICAL`, with the
    canonical label it looks like, if any. ``where`` (``KeyTable.where``) gives ``file:line``."""
    counts = Counter(utt2emo.values())
    place = _first_lines(utt2emo, where)
    guess = LabelSpellings(CANONICAL)
    out = []
    for label in sorted(set(counts) - set(CANONICAL)):
        near, _ = guess.resolve(label)
        hint = f"; did you mean '{near}'?" if near else ""
        out.append(f"{place[label]}: label '{label}' ({counts[label]} utterances) is not one of the canonical labels "
                   f"({', '.join(CANONICAL)}){hint} A misspelt label becomes a class of its own")
    return out


def rare_classes(utt2emo: Mapping[str, str], where=None) -> List[str]:
    """A warning for each class with fewer than :data:`FEW_EXAMPLES` utterances (or 5% of the
    median class): for a training set, a typo or a class too small to learn."""
    counts = Counter(utt2emo.values())
    if len(counts) < 2:
        return []
    place = _first_lines(utt2emo, where)
    median = statistics.median(counts.values())
    floor = max(FEW_EXAMPLES, 0.05 * median)
    return [f"{place[label]}: class '{label}' has only {counts[label]} utterances (median class {median:g}): "
            f"a typo, or too few to learn; fix, merge or drop it" for label in sorted(counts) if counts[label] < floor]

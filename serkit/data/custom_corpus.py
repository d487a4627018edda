"""A user's own labelled recordings -> a Kaldi data directory, from the two layouts people have.

* Label folders: ``ROOT/<Label>/.../<file>``: the first folder under the root is the label (any
  case and spelling of a known emotion), subfolders below it are allowed.
* A manifest: a CSV or TSV file with a header naming at least a path and a label column, and
  optionally speaker, gender and text (column names as in :data:`COLUMNS`, any case). Relative
  paths are relative to the manifest's folder.

Every file soundfile can read counts as audio, whatever its name, rate or channel count. Labels
map onto the canonical set (serkit.data.labels.CANONICAL) through the common spellings
(``Angry``, ``anger``, ``ang``, ``Pleasant surprise``...) and a user's mapping file; a label that
maps to nothing is reported with its count and never guessed. Speakers come from a manifest
column or from ``speaker_regex`` applied to the path under the root; without either, every
utterance counts as its own speaker, and the results are speaker-dependent (optimistic): the
recipe says so. Everything not used is listed with its reason.
"""
from __future__ import annotations

import csv
import logging
import math
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import soundfile as sf

from serkit.data.corpus import DOC_SUFFIXES, PrepReport, Utterance
from serkit.data.labels import ALIASES, CANONICAL, LabelSpellings, normalise_spelling
from serkit.data.table import PathLike, read_table
from serkit.errors import DataDirError

logger = logging.getLogger(__name__)

# Manifest header names, by role (compared case-insensitively, spaces and dashes as '_').
COLUMNS: Dict[str, Tuple[str, ...]] = {
    "path": ("path", "file", "filename", "file_name", "filepath", "file_path", "wav", "audio", "wav_path"),
    "label": ("label", "emotion", "emo", "class", "category"),
    "speaker": ("speaker", "spk", "speaker_id", "spk_id", "actor", "subject", "talker"),
    "gender": ("gender", "sex"),
    "text": ("text", "transcript", "transcription", "sentence", "words"),
}
GENDERS = {"m": "m", "male": "m", "man": "m", "f": "f", "female": "f", "woman": "f"}
NO_SPEAKERS = "NO_SPEAKERS"  # marker file: every utterance is its own speaker (speaker-dependent results)


def load_label_mapping(path: PathLike) -> Dict[str, str]:
    """A user's label mapping: ``<their spelling> <canonical label>`` per line (a Kaldi-style table);
    the spelling is compared as the label folders and manifests are (case, spaces, dashes)."""
    table = read_table(path)
    out = {}
    for spelling, label in table.items():
        if label not in CANONICAL:
            raise DataDirError(f"{table.where(spelling)}: '{label}' is not a canonical label ({', '.join(CANONICAL)})")
        out[normalise_spelling(spelling)] = label
    return out


def label_spellings(user_mapping: Optional[Dict[str, str]] = None) -> LabelSpellings:
    """The canonical labels with their common spellings and the user's, no guessing of typos."""
    aliases = dict(ALIASES)
    aliases.update(user_mapping or {})
    return LabelSpellings(CANONICAL, aliases=aliases, fuzzy=False)


def _utt_id(rel: Path) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", rel.with_suffix("").as_posix().replace("/", "-")).strip("_")


@dataclass
class SpeakerRule:
    """``speaker_regex`` on the path under the root: the group named ``spk``, else the first group."""

    pattern: Optional[re.Pattern]

    @classmethod
    def from_text(cls, text: Optional[str]) -> "SpeakerRule":
        if not text:
            return cls(None)
        try:
            pattern = re.compile(text)
        except re.error as err:
            raise DataDirError(f"--speaker-regex '{text}' is not a regular expression ({err})") from None
        if pattern.groups < 1:
            raise DataDirError(f"--speaker-regex '{text}' has no group: put the speaker in (...) or (?P<spk>...)")
        return cls(pattern)

    def speaker(self, rel: str) -> Optional[str]:
        m = self.pattern.search(rel)
        if not m:
            return None
        return m.group("spk") if "spk" in self.pattern.groupindex else m.group(1)


def _is_audio(path: Path, report: PrepReport) -> bool:
    if path.name.startswith(".") or path.suffix.lower() in DOC_SUFFIXES:
        report.reject(path, "not audio (a document or label file by its name)")
        return False
    try:
        sf.info(str(path))
        return True
    except Exception as err:
        report.reject(path, f"not readable audio ({str(err).splitlines()[0] or type(err).__name__})")
        return False


def _record(path: Path, rel: Path, spelling: str, labels: LabelSpellings, speakers: SpeakerRule, report: PrepReport,
            unmapped: Counter, speaker: Optional[str] = None, gender: Optional[str] = None,
            text: Optional[str] = None) -> Optional[Utterance]:
    label = labels.lookup(spelling, str(path))
    if label is None:
        unmapped[spelling] += 1
        report.reject(path, f"label '{spelling}' is not a known emotion; map it with --label-map")
        return None
    if speaker is None and speakers.pattern is not None:
        speaker = speakers.speaker(rel.as_posix())
        if speaker is None:
            report.reject(path, f"--speaker-regex '{speakers.pattern.pattern}' does not match '{rel.as_posix()}'")
            return None
    base = _utt_id(rel)
    utt = f"{speaker}-{base}" if speaker else base
    return Utterance(utt=utt, path=str(path), speaker=speaker or utt, emotion=label, gender=gender, text=text)


def from_label_folders(root: PathLike, labels: LabelSpellings, speakers: SpeakerRule,
                       report: PrepReport) -> Tuple[List[Utterance], Counter]:
    """Utterances of ``root/<Label>/.../<file>``; and the count of each label that mapped to nothing."""
    root = Path(root)
    if not root.is_dir():
        raise DataDirError(f"--corpus-root '{root}' is not a directory")
    utts, unmapped = [], Counter()
    for path in sorted(p for p in root.rglob("*") if p.is_file() or p.is_symlink()):
        rel = path.relative_to(root)
        if len(rel.parts) < 2:
            if not path.name.startswith("."):
                report.reject(path, "not in a label folder (expected <root>/<Label>/<file>)")
            continue
        if not path.exists():
            report.reject(path, "dangling symbolic link")
            continue
        if not _is_audio(path, report):
            continue
        u = _record(path, rel, rel.parts[0], labels, speakers, report, unmapped)
        if u is not None:
            utts.append(u)
    return utts, unmapped


def _columns(header: Sequence[str], where: str) -> Dict[str, int]:
    found: Dict[str, int] = {}
    for i, name in enumerate(header):
        key = re.sub(r"[\s-]+", "_", name.strip().lower())
        for role, names in COLUMNS.items():
            if key in names and role not in found:
                found[role] = i
    missing = [role for role in ("path", "label") if role not in found]
    if missing:
        raise DataDirError(f"{where}:1: the header has no {' and no '.join(missing)} column (got {', '.join(header)}); "
                           f"name them e.g. 'path' and 'label' ({', '.join(COLUMNS['path'][:4])} ... are understood)")
    return found


def from_manifest(manifest: PathLike, labels: LabelSpellings, speakers: SpeakerRule,
                  report: PrepReport) -> Tuple[List[Utterance], Counter, bool]:
    """Utterances of a CSV/TSV manifest; the unmapped label counts; whether it gave speakers."""
    manifest = Path(manifest)
    try:
        text = manifest.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise DataDirError(f"--manifest '{manifest}' does not exist") from None
    except UnicodeDecodeError:
        raise DataDirError(f"{manifest}: not UTF-8 text; save it as UTF-8 (CSV or TSV)") from None
    delimiter = "\t" if "\t" in text.split("\n", 1)[0] else ","
    rows = list(csv.reader(text.splitlines(), delimiter=delimiter))
    if not rows:
        raise DataDirError(f"{manifest}: empty; write a header line (path,label,...) and one line per file")
    cols = _columns(rows[0], str(manifest))
    utts, unmapped = [], Counter()
    for lineno, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) < len(rows[0]):
            raise DataDirError(f"{manifest}:{lineno}: {len(row)} fields, the header has {len(rows[0])}; fix the line")
        get = (lambda role: row[cols[role]].strip() if role in cols and row[cols[role]].strip() else None)
        rel = Path(get("path") or "")
        path = rel if rel.is_absolute() else manifest.parent / rel
        if not get("path") or not path.is_file():
            raise DataDirError(f"{manifest}:{lineno}: audio file '{get('path') or ''}' not found "
                               f"(relative paths are relative to {manifest.parent}); fix or remove the line")
        if not _is_audio(path, report):
            continue
        gender = GENDERS.get((get("gender") or "").lower())
        u = _record(path, rel, get("label") or "", labels, speakers, report, unmapped,
                    speaker=get("speaker"), gender=gender, text=get("text"))
        if u is not None:
            utts.append(u)
    return utts, unmapped, "speaker" in cols


def report_unmapped(unmapped: Counter) -> None:
    for spelling, n in sorted(unmapped.items(), key=lambda kv: (-kv[1], kv[0])):
        logger.warning("label '%s' (%d files) maps to no canonical label (%s): those files are not used; map it "
                       "with --label-map FILE ('%s <label>' per line)", spelling, n, ", ".join(CANONICAL),
                       normalise_spelling(spelling))


def choose_folds(num_speakers: int, has_speakers: bool) -> Tuple[str, int, int]:
    """``(scheme, n, dev_speakers)`` for ser.sh from the number of speakers: leave one speaker out
    up to 12 speakers, else 5 folds of speakers; without speakers, 5 random folds of utterances
    (``file``: see :func:`random_fold_file`). No dev speakers, as in the corpus recipes: every
    other speaker trains, on a fixed schedule (egs/emodb/TUNING.md, T7)."""
    if has_speakers and num_speakers < 3:
        raise DataDirError(f"{num_speakers} speaker(s): a speaker-independent split needs at least 3 "
                           f"(two to train, one to test); add recordings of more speakers")
    if has_speakers and num_speakers <= 12:
        return "loso", 1, 0
    n = math.ceil(num_speakers / 5)
    return ("leave-n-out" if has_speakers else "file"), n, 0


def random_fold_file(speakers: Sequence[str], folds: int = 5, seed: int = 1) -> str:
    """A fold file of ``folds`` random groups of ``speakers`` (for utterances without speakers,
    whose sorted ids would group them by label folder)."""
    import numpy as np

    order = [speakers[i] for i in np.random.default_rng(seed).permutation(len(speakers))]
    size = math.ceil(len(order) / folds)
    groups = [order[k:k + size] for k in range(0, len(order), size)]
    lines = ["# random groups of utterances (no speaker information): speaker-DEPENDENT folds"]
    lines += [f"fold{k + 1} {','.join(group)}" for k, group in enumerate(groups)]
    return "\n".join(lines) + "\n"

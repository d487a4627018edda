#!/usr/bin/env python3
"""IEMOCAP (Interactive Emotional Dyadic Motion Capture), utterance audio -> a Kaldi data directory.

Layout of the release (``<root>`` holds Session1 .. Session5):

* audio: ``Session<k>/sentences/wav/<dialog>/<utt>.wav``
* labels: ``Session<k>/dialog/EmoEvaluation/<dialog>.txt``, lines
  ``[6.2901 - 8.2357]<TAB>Ses01F_impro01_F000<TAB>neu<TAB>[2.5000, 2.5000, 2.5000]``
  (the consensus label; the evaluators' lines below it are not used)
* transcripts: ``Session<k>/dialog/transcriptions/<dialog>.txt``, lines
  ``Ses01F_impro01_F000 [006.2901-008.2357]: Excuse me.`` (-> ``text``)

``--classes 4`` (default): neutral (neu), happy (hap + exc), angry (ang), sad (sad): 5531
utterances. ``--classes 4-noexc``: the same without exc (4490). Other labels (fru sur fea dis oth
xxx) are left out and counted in the log; they are not errors.

Speaker = session + gender of the speaking actor, the letter that starts the last field of the
utterance id (``Ses01F_impro01_M003`` -> ``Ses01M``); utterance id ``<speaker>-<original id>``
(``Ses01M-Ses01F_impro01_M003``), so ids sort with their speaker. A wav without a label, and a
label without a wav, are reported in rejected.txt. Folds: ``conf/folds_sessions.txt``
(leave one session out).

    local/prepare_data.py [--classes 4] <iemocap-root> <data-dir>
"""
import logging
import re
import sys
from collections import Counter
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from serkit.data.corpus import PrepReport, Utterance, find_audio, finish_preparation
from serkit.data.labels import drop_unusable, log_skipped
from serkit.errors import DataDirError
from serkit.utils import cli

CLASS_SETS = {
    "4": {"neu": "neutral", "hap": "happy", "exc": "happy", "ang": "angry", "sad": "sad"},
    "4-noexc": {"neu": "neutral", "hap": "happy", "ang": "angry", "sad": "sad"},
}
EXPECTED = {
    "4": {"neutral": 1708, "happy": 1636, "angry": 1103, "sad": 1084},
    "4-noexc": {"neutral": 1708, "happy": 595, "angry": 1103, "sad": 1084},
}
ALL_LABELS = ("neu", "hap", "exc", "ang", "sad", "fru", "sur", "fea", "dis", "oth", "xxx")
UTT_ID = re.compile(r"^(Ses0[1-5])[FM]_\S*_([FM])[^_\s]*$")
LABEL_LINE = re.compile(r"^\[\s*[\d.]+\s*-\s*[\d.]+\s*\]\t(\S+)\t(\S+)\t")
TRANSCRIPT_LINE = re.compile(r"^(\S+) \[[\d.]+-[\d.]+\]:\s?(.*)$")
logger = logging.getLogger("iemocap")

Label = Tuple[str, str]  # (label code, "file:line")


def speaker_of(utt: str) -> Optional[str]:
    """``Ses01F_impro01_M003`` -> ``Ses01M``; None for an id that is not an IEMOCAP utterance id."""
    m = UTT_ID.match(utt)
    return f"{m.group(1)}{m.group(2)}" if m else None


def session_dirs(root: Path) -> List[Path]:
    dirs = sorted(p for p in root.glob("Session*") if p.is_dir())
    if not dirs:
        raise DataDirError(f"{root}: no Session1 .. Session5 folders; pass the IEMOCAP release folder")
    return dirs


def read_labels(sessions: List[Path], report: PrepReport) -> Dict[str, Label]:
    """``utt id -> (label code, file:line)`` from every EmoEvaluation/<dialog>.txt."""
    labels: Dict[str, Label] = {}
    for path in label_files(sessions, "EmoEvaluation"):
        for lineno, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), start=1):
            if not line.startswith("["):
                continue
            m = LABEL_LINE.match(line)
            where = f"{path}:{lineno}"
            if not m:
                report.reject(where, "label line is not '[start - end]<TAB>utt<TAB>label<TAB>[v, a, d]'")
                continue
            utt, code = m.group(1), m.group(2).lower()
            if utt in labels:
                report.reject(where, f"second label for {utt} (first at {labels[utt][1]}); the first is used")
                continue
            if code not in ALL_LABELS:
                report.reject(where, f"unknown label '{m.group(2)}' for {utt} (IEMOCAP: {' '.join(ALL_LABELS)})")
                continue
            labels[utt] = (code, where)
    logger.info("read %d utterance labels", len(labels))
    return labels


def read_transcripts(sessions: List[Path]) -> Dict[str, str]:
    """``utt id -> words`` from every transcriptions/<dialog>.txt (other lines are skipped)."""
    texts: Dict[str, str] = {}
    for path in label_files(sessions, "transcriptions"):
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            m = TRANSCRIPT_LINE.match(line)
            if m and speaker_of(m.group(1)):
                texts[m.group(1)] = " ".join(m.group(2).split())
    return texts


def parse(paths: List[Path], labels: Dict[str, Label], texts: Dict[str, str], classes: Dict[str, str],
          report: PrepReport, skipped: Counter) -> List[Utterance]:
    utts = []
    for path in paths:
        spk = speaker_of(path.stem)
        if spk is None:
            report.reject(path, "name is not an IEMOCAP utterance id (e.g. Ses01F_impro01_F000)")
            continue
        if path.stem not in labels:
            report.reject(path, f"no label for {path.stem} in Session*/dialog/EmoEvaluation/*.txt")
            continue
        code = labels[path.stem][0]
        if code not in classes:
            skipped[f"utterances labelled '{code}' (not one of the classes)"] += 1
            continue
        utts.append(Utterance(utt=f"{spk}-{path.stem}", path=str(path), speaker=spk, emotion=classes[code],
                              gender=spk[-1].lower(), text=texts.get(path.stem)))
    return utts


def report_missing_audio(labels: Dict[str, Label], paths: List[Path], classes: Dict[str, str],
                         report: PrepReport) -> None:
    have = {p.stem for p in paths}
    for utt, (code, where) in sorted(labels.items()):
        if utt not in have and code in classes:
            report.reject(where, f"{utt} is labelled '{code}' but has no Session*/sentences/wav/*/{utt}.wav")


def audio_files(sessions: List[Path], report: PrepReport) -> List[Path]:
    """The utterance audio of every session (``Session<k>/sentences/wav/<dialog>/*.wav``)."""
    lacking = [str(s) for s in sessions if not (s / "sentences" / "wav").is_dir()]
    if lacking:
        raise DataDirError(f"no sentences/wav folder in {', '.join(lacking)}; the utterance audio of the release "
                           f"lies in Session<k>/sentences/wav/<dialog>/")
    return [p for s in sessions for p in find_audio(s / "sentences" / "wav", report)]


def label_files(sessions: List[Path], sub: str) -> List[Path]:
    """``Session*/dialog/<sub>/*.txt`` (not the subfolders, not hidden ``._`` copies)."""
    return sorted(p for s in sessions for p in (s / "dialog" / sub).glob("*.txt") if not p.name.startswith("."))


def main(argv: List[str]) -> int:
    p = cli.parser(__doc__, prog="iemocap/prepare_data")
    p.add_argument("--classes", choices=sorted(CLASS_SETS), default="4",
                   help="label set: 4 (neu, hap+exc, ang, sad; default) or 4-noexc (exc left out)")
    p.add_argument("iemocap_root", help="folder holding Session1 .. Session5")
    p.add_argument("data_dir")
    args = p.parse_args(argv)
    cli.setup_logging(args.verbose)
    classes = CLASS_SETS[args.classes]
    report = PrepReport()
    sessions = session_dirs(Path(args.iemocap_root))
    labels = read_labels(sessions, report)
    texts = read_transcripts(sessions)
    paths = audio_files(sessions, report)
    skipped: Counter = Counter()
    utts = drop_unusable(parse(paths, labels, texts, classes, report, skipped), report)
    report_missing_audio(labels, paths, classes, report)
    log_skipped(skipped, "IEMOCAP", logger)
    no_text = sum(1 for u in utts if u.text is None)
    if no_text:
        logger.warning("%d utterances have no transcript line; their text is empty", no_text)
    expected = EXPECTED[args.classes]
    line = finish_preparation(args.data_dir, utts, report, "IEMOCAP", sum(expected.values()), expected,
                              what="files or labels")
    print(line + (f"; left out by class: {sum(skipped.values())}" if skipped else ""))
    return 0


if __name__ == "__main__":
    cli.run(main, sys.argv[1:], prog="iemocap/prepare_data")

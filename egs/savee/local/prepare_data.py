#!/usr/bin/env python3
"""SAVEE (Surrey Audio-Visual Expressed Emotion, audio) -> a Kaldi data directory.

Accepts both layouts of the audio:

* flat, speaker in the name: ``<root>/DC_a01.wav`` (or ``.flac``);
* the original release: ``<root>/AudioData/DC/a01.wav`` (speaker = the folder).

Speakers DC JE JK KL (4 English males). Emotion code + number: a anger, d disgust, f fear,
h happiness, sa sadness, su surprise (01-15 each), n neutral (01-30). 480 files, 120 per speaker.
Utterance id ``<speaker>_<code><nn>`` (``DC_a01``) from either layout, so a second copy of a file
is reported as a duplicate. No transcripts are written (the release keeps them outside the audio).
Protocol: leave-one-speaker-out (``ser.sh --folds loso``).

    local/prepare_data.py <savee-root> <data-dir>
"""
import logging
import re
import sys
from pathlib import Path
from typing import List, Optional, Tuple

from serkit.data.corpus import PrepReport, Utterance, find_audio, finish_preparation
from serkit.data.labels import LabelSpellings, drop_unusable
from serkit.utils import cli

CODES = {"a": "angry", "d": "disgust", "f": "fear", "h": "happy", "n": "neutral", "sa": "sad", "su": "surprise"}
EXPECTED = {"angry": 60, "disgust": 60, "fear": 60, "happy": 60, "neutral": 120, "sad": 60, "surprise": 60}
SPEAKERS = ("DC", "JE", "JK", "KL")
FLAT = re.compile(r"^([A-Za-z]{2})[_-]([A-Za-z]+)(\d+)$")
NESTED = re.compile(r"^([A-Za-z]+)(\d+)$")
logger = logging.getLogger("savee")


def split_name(path: Path) -> Optional[Tuple[str, str, str]]:
    """``(speaker, emotion code, number)`` from a flat or an AudioData/<speaker>/ name."""
    m = FLAT.match(path.stem)
    if m and m.group(1).upper() in SPEAKERS:
        return m.group(1).upper(), m.group(2), m.group(3)
    m = NESTED.match(path.stem)
    if m and path.parent.name.upper() in SPEAKERS:
        return path.parent.name.upper(), m.group(1), m.group(2)
    return None


def parse(paths: List[Path], report: PrepReport, labels: LabelSpellings) -> List[Utterance]:
    utts = []
    for path in paths:
        fields = split_name(path)
        if fields is None:
            report.reject(path, f"name is not <speaker>_<emotion code><nn> (e.g. DC_a01) or "
                                f"AudioData/<speaker>/<code><nn> (e.g. DC/sa03), speakers {' '.join(SPEAKERS)}")
            continue
        spk, code, num = fields
        emotion = labels.lookup(code, str(path))
        if emotion is None:
            report.reject(path, f"unknown emotion code '{code}' (SAVEE codes: {labels.known_spellings()})")
            continue
        limit = 30 if emotion == "neutral" else 15
        if not 1 <= int(num) <= limit:
            report.reject(path, f"sentence number {num} out of range: SAVEE has 01-{limit} for {emotion}")
            continue
        short = next(c for c, e in CODES.items() if e == emotion)
        utts.append(Utterance(utt=f"{spk}_{short}{int(num):02d}", path=str(path), speaker=spk,
                              emotion=emotion, gender="m"))
    return utts


def main(argv: List[str]) -> int:
    p = cli.parser(__doc__, prog="savee/prepare_data")
    p.add_argument("savee_root", help="folder with the audio (flat, or holding AudioData/)")
    p.add_argument("data_dir")
    args = p.parse_args(argv)
    cli.setup_logging(args.verbose)
    report = PrepReport()
    labels = LabelSpellings(CODES)
    utts = drop_unusable(parse(find_audio(args.savee_root, report), report, labels), report)
    labels.log_mappings(logger)
    print(finish_preparation(args.data_dir, utts, report, "SAVEE", 480, EXPECTED))
    return 0


if __name__ == "__main__":
    cli.run(main, sys.argv[1:], prog="savee/prepare_data")

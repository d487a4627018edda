#!/usr/bin/env python3
"""TESS (Toronto Emotional Speech Set) -> a Kaldi data directory.

Layout: ``<root>/<OAF|YAF>_<emotion>/<OAF|YAF>_<word>_<emotion>.wav``: two female speakers (OAF
older, YAF younger), 200 words in the carrier phrase "Say the word ...", 7 emotions (angry,
disgust, fear, happy, neutral, pleasant surprise, sad), 24414 Hz, 2800 files.

Copies spell folders and names differently (``OAF_Fear``, ``OAF_Pleasant_surprise``,
``YAF_pleasant_surprised``, ``ps``, ``Sad``...): spellings are mapped tolerantly onto the canonical
labels (pleasant surprise -> surprise) and every mapped spelling is logged with its file count. The
label comes from the file name; a file whose folder names another speaker or emotion is rejected
(it is not clear which one is right). Files outside an ``<OAF|YAF>_<emotion>`` folder are used by
their name alone.

Speaker ids ``OAF`` and ``YAF``; utterance id ``<speaker>_<word>_<emotion>`` with the canonical
emotion (``OAF_back_surprise``); text ``say the word <word>``. A second copy of the same
speaker/word/emotion (some downloads nest a duplicate of the whole set) is reported and left out.
Folds: ``conf/folds_cross_speaker.txt`` (train on one speaker, test on the other).

    local/prepare_data.py <tess-root> <data-dir>
"""
import logging
import re
import sys
from pathlib import Path
from typing import List, Optional, Tuple

from serkit.data.corpus import PrepReport, Utterance, find_audio, finish_preparation
from serkit.data.labels import LabelSpellings, drop_unusable
from serkit.utils import cli

SPEAKERS = ("OAF", "YAF")
OFFICIAL = ("angry", "disgust", "fear", "happy", "neutral", "sad")  # written as the canonical tokens
EXPECTED = {e: 400 for e in ("angry", "disgust", "fear", "happy", "neutral", "sad", "surprise")}
FILE_NAME = re.compile(r"^([A-Za-z]{3})[_ -]+([A-Za-z']+)[_ -]+(.+)$")
FOLDER_NAME = re.compile(r"^([A-Za-z]{3})[_ -]+(.+)$")
logger = logging.getLogger("tess")


def split_file_name(stem: str) -> Optional[Tuple[str, str, str]]:
    """``(speaker, word, emotion spelling)`` of ``OAF_back_angry``, or None."""
    m = FILE_NAME.match(stem)
    if not m or m.group(1).upper() not in SPEAKERS:
        return None
    return m.group(1).upper(), m.group(2).lower(), m.group(3)


def split_folder(name: str) -> Optional[Tuple[str, str]]:
    """``(speaker, emotion spelling)`` of a folder ``OAF_angry``, or None for any other folder."""
    m = FOLDER_NAME.match(name)
    if not m or m.group(1).upper() not in SPEAKERS:
        return None
    return m.group(1).upper(), m.group(2)


def parse_one(path: Path, labels: LabelSpellings) -> Tuple[Optional[Utterance], str]:
    """The utterance of ``path``, or ``(None, why not)``."""
    fields = split_file_name(path.stem)
    if fields is None:
        return None, "name is not <OAF|YAF>_<word>_<emotion> (e.g. OAF_back_angry)"
    spk, word, spelling = fields
    emotion = labels.lookup(spelling, str(path))
    if emotion is None:
        return None, (f"unknown emotion spelling '{spelling}' in the name (TESS: angry, disgust, fear, happy, "
                      "neutral, pleasant surprise (ps), sad)")
    folder = split_folder(path.parent.name)
    if folder is not None:
        folder_emotion = labels.lookup(folder[1], str(path))
        if folder[0] != spk or folder_emotion != emotion:
            return None, (f"folder '{path.parent.name}' ({folder[0]}, {folder_emotion or 'unknown emotion'}) "
                          f"disagrees with the name ({spk}, {emotion}); move or rename the file")
    return Utterance(utt=f"{spk}_{word}_{emotion}", path=str(path), speaker=spk, emotion=emotion, gender="f",
                     text=f"say the word {word}"), ""


def parse(paths: List[Path], report: PrepReport, labels: LabelSpellings) -> List[Utterance]:
    utts = []
    for path in paths:
        utt, why = parse_one(path, labels)
        if utt is None:
            report.reject(path, why)
        else:
            utts.append(utt)
    return utts


def main(argv: List[str]) -> int:
    p = cli.parser(__doc__, prog="tess/prepare_data")
    p.add_argument("tess_root", help="folder holding the OAF_*/YAF_* emotion folders")
    p.add_argument("data_dir")
    args = p.parse_args(argv)
    cli.setup_logging(args.verbose)
    report = PrepReport()
    labels = LabelSpellings(OFFICIAL, allowed=EXPECTED)
    utts = drop_unusable(parse(find_audio(args.tess_root, report), report, labels), report)
    labels.log_mappings(logger)
    print(finish_preparation(args.data_dir, utts, report, "TESS", 2800, EXPECTED))
    return 0


if __name__ == "__main__":
    cli.run(main, sys.argv[1:], prog="tess/prepare_data")

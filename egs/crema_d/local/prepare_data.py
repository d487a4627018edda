#!/usr/bin/env python3
"""CREMA-D (Crowd-sourced Emotional Multimodal Actors Dataset), audio -> a Kaldi data directory.

Layout: ``<root>/AudioWAV/1001_DFA_ANG_XX.wav`` (``<root>`` may also be the AudioWAV folder
itself): actor 1001-1091, sentence code (12 sentences, written to ``text``), emotion ANG DIS FEA
HAP NEU SAD, level LO MD HI XX (unspecified; the release's ``1040_ITH_SAD_X`` is read as XX). 7442
files, 16 kHz; any format soundfile reads (the shared copy is Opus in ``AudioOpus/*.ogg``). Only AudioWAV is read when it
exists, so the MP3 and video copies of the full release are not picked up twice.

Speaker id = the actor id (``1001``); utterance id = the file name (``1001_DFA_ANG_XX``), which
starts with it. Gender comes from the release's ``VideoDemographics.csv``
(``ActorID,Age,Sex,Race,Ethnicity``): ``--demographics FILE`` or ``<root>/VideoDemographics.csv``;
without it no utt2gender is written. Folds: ``conf/folds_5.txt`` (5 folds of consecutive actors).

    local/prepare_data.py [--demographics CSV] <crema-d-root> <data-dir>
"""
import csv
import logging
import re
import sys
from pathlib import Path
from typing import Dict, List, Optional

from serkit.data.corpus import PrepReport, Utterance, find_audio, finish_preparation
from serkit.data.labels import LabelSpellings, drop_unusable
from serkit.errors import DataDirError
from serkit.utils import cli

EMOTIONS = {"ANG": "angry", "DIS": "disgust", "FEA": "fear", "HAP": "happy", "NEU": "neutral", "SAD": "sad"}
EXPECTED = {"angry": 1271, "disgust": 1271, "fear": 1271, "happy": 1271, "neutral": 1087, "sad": 1271}
SENTENCES = {
    "IEO": "It's eleven o'clock",
    "TIE": "That is exactly what happened",
    "IOM": "I'm on my way to the meeting",
    "IWW": "I wonder what this is about",
    "TAI": "The airplane is almost full",
    "MTI": "Maybe tomorrow it will be cold",
    "IWL": "I would like a new alarm clock",
    "ITH": "I think I have a doctor's appointment",
    "DFA": "Don't forget a jacket",
    "ITS": "I think I've seen this before",
    "TSI": "The surface is slick",
    "WSI": "We'll stop in a couple of minutes",
}
LEVELS = ("LO", "MD", "HI", "XX")
NAME = re.compile(r"^(\d{4})_([A-Za-z]{3})_([A-Za-z]{3})_([A-Za-z]{1,2})$")
# Known misnamings of the release: the level of 1040_ITH_SAD_X is the unspecified one (XX).
LEVEL_SPELLINGS = {"X": "XX"}
SEX = {"male": "m", "female": "f", "m": "m", "f": "f"}
logger = logging.getLogger("crema_d")


def read_demographics(path: Path) -> Dict[str, str]:
    """``actor id -> m/f`` from VideoDemographics.csv; errors name ``file:line``."""
    genders: Dict[str, str] = {}
    with open(path, newline="", encoding="utf-8-sig") as f:
        rows = csv.reader(f)
        header = [h.strip().lower() for h in next(rows, [])]
        if "actorid" not in header or "sex" not in header:
            raise DataDirError(f"{path}:1: expected a header with ActorID and Sex columns "
                               f"(ActorID,Age,Sex,Race,Ethnicity), got {','.join(header) or 'nothing'}")
        id_col, sex_col = header.index("actorid"), header.index("sex")
        for lineno, row in enumerate(rows, start=2):
            if not any(cell.strip() for cell in row):
                continue
            if len(row) <= max(id_col, sex_col):
                raise DataDirError(f"{path}:{lineno}: {len(row)} fields, expected {len(header)}; fix the line")
            sex = SEX.get(row[sex_col].strip().lower())
            if sex is None:
                raise DataDirError(f"{path}:{lineno}: Sex '{row[sex_col]}' is not Male or Female; fix the line")
            genders[row[id_col].strip()] = sex
    logger.info("%s: gender of %d actors", path, len(genders))
    return genders


def name_problem(actor: str, sentence: str, code: str, emotion: Optional[str], level: str) -> Optional[str]:
    """Why the fields of a name are not a CREMA-D file, or None when they are."""
    if not 1001 <= int(actor) <= 1091:
        return f"actor id {actor} out of range 1001-1091"
    if sentence not in SENTENCES:
        return f"unknown sentence code '{sentence}' (CREMA-D: {' '.join(sorted(SENTENCES))})"
    if emotion is None:
        return f"unknown emotion code '{code}' (CREMA-D: {' '.join(EMOTIONS)})"
    if level not in LEVELS:
        return f"unknown emotion level '{level}' (CREMA-D: {' '.join(LEVELS)})"
    return None


def parse(paths: List[Path], report: PrepReport, labels: LabelSpellings,
          genders: Optional[Dict[str, str]]) -> List[Utterance]:
    utts = []
    for path in paths:
        m = NAME.match(path.stem)
        if not m:
            report.reject(path, "name is not <actor>_<sentence>_<emotion>_<level> (e.g. 1001_DFA_ANG_XX)")
            continue
        actor, sentence, code, level = m.group(1), m.group(2).upper(), m.group(3), m.group(4).upper()
        if level in LEVEL_SPELLINGS:
            logger.info("%s: emotion level '%s' read as %s (a misnaming in the release)", path, level,
                        LEVEL_SPELLINGS[level])
            level = LEVEL_SPELLINGS[level]
        emotion = labels.lookup(code, str(path))
        problem = name_problem(actor, sentence, code, emotion, level)
        if problem:
            report.reject(path, problem)
            continue
        utts.append(Utterance(utt=f"{actor}_{sentence}_{code.upper()}_{level}", path=str(path), speaker=actor,
                              emotion=emotion, gender=(genders or {}).get(actor), text=SENTENCES[sentence]))
    return utts


def demographics_file(root: Path, given: Optional[str]) -> Optional[Path]:
    if given:
        if not Path(given).is_file():
            raise DataDirError(f"--demographics {given}: no such file; give the release's VideoDemographics.csv")
        return Path(given)
    default = root / "VideoDemographics.csv"
    if default.is_file():
        return default
    logger.info("no %s (and no --demographics): utt2gender is not written", default)
    return None


def main(argv: List[str]) -> int:
    p = cli.parser(__doc__, prog="crema_d/prepare_data")
    p.add_argument("--demographics", help="VideoDemographics.csv (default: <root>/VideoDemographics.csv if present)")
    p.add_argument("crema_root", help="the CREMA-D folder (holding AudioWAV/), or AudioWAV itself")
    p.add_argument("data_dir")
    args = p.parse_args(argv)
    cli.setup_logging(args.verbose)
    root = Path(args.crema_root)
    audio_root = root / "AudioWAV" if (root / "AudioWAV").is_dir() else root
    csv_path = demographics_file(root, args.demographics)
    genders = read_demographics(csv_path) if csv_path else None
    report = PrepReport()
    labels = LabelSpellings(EMOTIONS, aliases={}, fuzzy=False)
    utts = drop_unusable(parse(find_audio(audio_root, report), report, labels, genders), report)
    labels.log_mappings(logger)
    if genders is not None:
        missing = sorted({u.speaker for u in utts if u.gender is None})
        if missing:
            logger.warning("%s has no Sex for actors %s: utt2gender is not written", csv_path, ", ".join(missing))
    print(finish_preparation(args.data_dir, utts, report, "CREMA-D", 7442, EXPECTED))
    return 0


if __name__ == "__main__":
    cli.run(main, sys.argv[1:], prog="crema_d/prepare_data")

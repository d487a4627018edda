#!/usr/bin/env python3
"""RAVDESS (Ryerson Audio-Visual Database of Emotional Speech and Song), audio -> a Kaldi data directory.

Layout: ``<root>/[Audio_Speech_Actors_01-24/]Actor_01/03-01-05-01-02-01-12.wav`` (the song
release, ``Audio_Song_Actors_01-24/``, can sit beside it). Seven two-digit fields:

  modality   01 full-AV, 02 video-only, 03 audio-only (01/02 are left out, with a logged count)
  channel    01 speech, 02 song (song only with --include-song)
  emotion    01 neutral, 02 calm, 03 happy, 04 sad, 05 angry, 06 fear, 07 disgust, 08 surprise
             (--merge-calm labels calm as neutral)
  intensity  01 normal, 02 strong (none strong for neutral)
  statement  01 "Kids are talking by the door", 02 "Dogs are sitting by the door" (-> text)
  repetition 01, 02
  actor      01-24; odd male, even female

Speaker id ``Actor_NN`` (the release's folder name); utterance id ``Actor_NN-<file name>``
(``Actor_12-03-01-05-01-02-01-12``). The actor of the name is used; when the file lies in another
actor's ``Actor_NN`` folder the mismatch is logged. Expected: 1440 speech files (1012 song), 48 kHz.
``.mp4`` files of the video release are counted and left out. Folds: ``conf/folds_6x4.txt`` or
``ser.sh --folds loso``.

    local/prepare_data.py [--include-song] [--merge-calm] <ravdess-root> <data-dir>
"""
import logging
import re
import sys
from collections import Counter
from pathlib import Path
from typing import Dict, List, Optional

from serkit.data.corpus import DOC_SUFFIXES, PrepReport, Utterance, find_audio, finish_preparation
from serkit.data.labels import drop_unusable, log_skipped
from serkit.utils import cli

EMOTIONS = {"01": "neutral", "02": "calm", "03": "happy", "04": "sad", "05": "angry", "06": "fear",
            "07": "disgust", "08": "surprise"}
SONG_EMOTIONS = ("01", "02", "03", "04", "05", "06")  # the song release has no disgust or surprise
TEXTS = {"01": "Kids are talking by the door", "02": "Dogs are sitting by the door"}
NAME = re.compile(r"^(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)$")
ACTOR_DIR = re.compile(r"^actor_(\d+)$", re.IGNORECASE)
VIDEO_SUFFIXES = (".mp4", ".avi", ".mov")
NAME_HELP = "name is not MM-VV-EE-II-SS-RR-AA.wav (seven two-digit fields, e.g. 03-01-05-01-02-01-12)"
logger = logging.getLogger("ravdess")


def expected_counts(include_song: bool, merge_calm: bool) -> Dict[str, int]:
    """Per-emotion counts of the full release: 24 actors (23 sing: actor 18 has no song)."""
    counts = {e: (4 if code == "01" else 8) * 24 for code, e in EMOTIONS.items()}
    if include_song:
        for code in SONG_EMOTIONS:
            counts[EMOTIONS[code]] += (4 if code == "01" else 8) * 23
    if merge_calm:
        counts["neutral"] += counts.pop("calm")
    return counts


def field_problem(fields: List[str]) -> Optional[str]:
    """Why the seven fields are not a RAVDESS file name, or None when they are."""
    modality, channel, emotion, intensity, statement, repetition, actor = fields
    ranges = (("modality", modality, 1, 3), ("vocal channel", channel, 1, 2), ("emotion", emotion, 1, 8),
              ("intensity", intensity, 1, 2), ("statement", statement, 1, 2), ("repetition", repetition, 1, 2),
              ("actor", actor, 1, 24))
    for what, value, lo, hi in ranges:
        if not lo <= int(value) <= hi:
            return f"{what} '{value}' out of range {lo:02d}-{hi:02d}"
    if emotion == "01" and intensity == "02":
        return "neutral has no strong intensity (02) in RAVDESS"
    if channel == "02" and emotion not in SONG_EMOTIONS:
        return f"song (channel 02) has no emotion {emotion} ({EMOTIONS[emotion]}) in RAVDESS"
    return None


def folder_actor(path: Path) -> Optional[str]:
    """The NN of the nearest ``Actor_NN`` folder above ``path``, or None."""
    for parent in path.parents:
        m = ACTOR_DIR.match(parent.name)
        if m:
            return f"{int(m.group(1)):02d}"
    return None


def parse(paths: List[Path], report: PrepReport, include_song: bool, merge_calm: bool,
          skipped: Counter) -> List[Utterance]:
    utts = []
    mismatched = 0
    for path in paths:
        m = NAME.match(path.stem)
        problem = NAME_HELP if not m else field_problem(list(m.groups()))
        if problem:
            report.reject(path, problem)
            continue
        modality, channel, emotion, _, statement, _, actor = m.groups()
        if modality != "03":
            skipped["video files (modality 01 full-AV / 02 video-only; this is the audio recipe)"] += 1
            continue
        if channel == "02" and not include_song:
            skipped["song files (vocal channel 02; use --include-song to keep them)"] += 1
            continue
        in_folder = folder_actor(path)
        if in_folder is not None and in_folder != actor:
            mismatched += 1
            logger.warning("%s: actor %s in the name, but the file is in folder Actor_%s; using actor %s "
                           "(the name carries all labels)", path, actor, in_folder, actor)
        label = EMOTIONS[emotion]
        if merge_calm and label == "calm":
            label = "neutral"
        spk = f"Actor_{actor}"
        utts.append(Utterance(
            utt=f"{spk}-{path.stem}", path=str(path), speaker=spk, emotion=label,
            gender="m" if int(actor) % 2 else "f", text=TEXTS[statement],
        ))
    if mismatched:
        logger.warning("%d files lie in another actor's Actor_NN folder (listed above)", mismatched)
    return utts


def main(argv: List[str]) -> int:
    p = cli.parser(__doc__, prog="ravdess/prepare_data")
    p.add_argument("--include-song", action="store_true", help="keep the song files (vocal channel 02)")
    p.add_argument("--merge-calm", action="store_true", help="label calm as neutral")
    p.add_argument("ravdess_root", help="folder holding Actor_01 .. Actor_24 (or Audio_Speech_Actors_01-24/)")
    p.add_argument("data_dir")
    args = p.parse_args(argv)
    cli.setup_logging(args.verbose)
    report = PrepReport()
    skipped: Counter = Counter()
    paths = find_audio(args.ravdess_root, report, ignore_suffixes=DOC_SUFFIXES + VIDEO_SUFFIXES)
    skipped["video files (.mp4 etc.; this is the audio recipe)"] = sum(
        1 for q in Path(args.ravdess_root).rglob("*") if q.suffix.lower() in VIDEO_SUFFIXES and q.is_file())
    utts = drop_unusable(parse(paths, report, args.include_song, args.merge_calm, skipped), report)
    log_skipped(skipped, "RAVDESS", logger)
    expected = expected_counts(args.include_song, args.merge_calm)
    line = finish_preparation(args.data_dir, utts, report, "RAVDESS", sum(expected.values()), expected)
    print(line + (f"; left out by choice: {sum(skipped.values())}" if sum(skipped.values()) else ""))
    return 0


if __name__ == "__main__":
    cli.run(main, sys.argv[1:], prog="ravdess/prepare_data")

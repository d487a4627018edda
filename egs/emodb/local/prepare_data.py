#!/usr/bin/env python3
"""EmoDB (Berlin Database of Emotional Speech) -> a Kaldi data directory.

Reads the original release layout: ``<root>/wav/03a01Fa.wav``. File name: chars 1-2 speaker,
3-5 text code, 6 emotion letter (German initial), 7 version. Speakers 08 09 13 14 16 are female.

    local/prepare_data.py <emodb-root> <data-dir>
"""
import argparse
import logging
import re
import sys

from serkit.data.corpus import PrepReport, Utterance, find_audio, finish_preparation
from serkit.utils import cli

EMOTIONS = {"W": "angry", "L": "bored", "E": "disgust", "A": "fear", "F": "happy", "T": "sad", "N": "neutral"}
EXPECTED = {"angry": 127, "bored": 81, "disgust": 46, "fear": 69, "happy": 71, "sad": 62, "neutral": 79}
FEMALE = {"08", "09", "13", "14", "16"}
SPEAKERS = {"03", "08", "09", "10", "11", "12", "13", "14", "15", "16"}
TEXTS = {
    "a01": "Der Lappen liegt auf dem Eisschrank.",
    "a02": "Das will sie am Mittwoch abgeben.",
    "a04": "Heute abend könnte ich es ihm sagen.",
    "a05": "Das schwarze Stück Papier befindet sich da oben neben dem Holzstück.",
    "a07": "In sieben Stunden wird es soweit sein.",
    "b01": "Was sind denn das für Tüten, die da unter dem Tisch stehen?",
    "b02": "Sie haben es gerade hochgetragen und jetzt gehen sie wieder runter.",
    "b03": "An den Wochenenden bin ich jetzt immer nach Hause gefahren und habe Agnes besucht.",
    "b09": "Ich will das eben wegbringen und dann mit Karl was trinken gehen.",
    "b10": "Die wird auf dem Platz sein, wo wir sie immer hinlegen.",
}
NAME = re.compile(r"^(\d\d)([ab]\d\d)([A-Z])([a-z])$")
logger = logging.getLogger("emodb")


def parse(paths, report):
    utts = []
    for path in paths:
        m = NAME.match(path.stem)
        if not m or m.group(1) not in SPEAKERS or m.group(3) not in EMOTIONS:
            report.reject(path, "name is not <speaker><text code><emotion letter><version>, e.g. 03a01Fa")
            continue
        spk, code, letter, _ = m.groups()
        utts.append(Utterance(
            utt=path.stem, path=str(path), speaker=spk, emotion=EMOTIONS[letter],
            gender="f" if spk in FEMALE else "m", text=TEXTS.get(code),
        ))
    return utts


def main(argv):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("emodb_root")
    p.add_argument("data_dir")
    args = p.parse_args(argv)
    cli.setup_logging()
    report = PrepReport()
    utts = parse(find_audio(f"{args.emodb_root}/wav", report), report)
    print(finish_preparation(args.data_dir, utts, report, "EmoDB", 535, EXPECTED))


if __name__ == "__main__":
    cli.run(main, sys.argv[1:], prog="emodb/prepare_data")

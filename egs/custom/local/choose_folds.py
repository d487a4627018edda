#!/usr/bin/env python3
"""Print the ser.sh fold options for a prepared data directory: '<scheme> <n> <dev-speakers> [<fold-file>]'.

    local/choose_folds.py data/all      # e.g. "loso 1 0", "leave-n-out 4 0", "file 20 0 data/folds_random.txt"

Leave one speaker out up to 12 speakers, else 5 folds of speakers; without speaker information
(data/all/NO_SPEAKERS), 5 random folds of utterances (speaker-dependent), written as a fold file
beside the data directory.
"""
import sys
from pathlib import Path

from serkit.data.custom_corpus import NO_SPEAKERS, choose_folds, random_fold_file
from serkit.data.datadir import DataDir
from serkit.utils import cli
from serkit.utils.atomic import atomic_write_text


def main(argv):
    p = cli.parser(__doc__, prog="custom/choose_folds")
    p.add_argument("data_dir")
    args = p.parse_args(argv)
    speakers = list(DataDir(args.data_dir).table("spk2utt"))
    scheme, n, dev = choose_folds(len(speakers), not (Path(args.data_dir) / NO_SPEAKERS).is_file())
    if scheme != "file":
        print(scheme, n, dev)
        return 0
    fold_file = Path(args.data_dir).parent / "folds_random.txt"
    atomic_write_text(fold_file, random_fold_file(speakers))
    print(scheme, n, dev, fold_file)
    return 0


if __name__ == "__main__":
    cli.run(main, sys.argv[1:], prog="custom/choose_folds")

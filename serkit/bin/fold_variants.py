"""Add augmented training data and noisy test sets to every fold of a recipe.

    python -m serkit.bin.fold_variants --folds-dir data/folds \\
        [--train-aug data/all_sp0.9:sp0.9- ...] [--test-variant snr10=data/all_snr10:snr10- ...]

A variant directory holds copies of the corpus whose speaker ids carry a prefix (``sp0.9-03`` is
speaker ``03`` speed-perturbed). For each ``fold<k>``: ``train_aug`` = ``train`` plus the
variants' utterances of the fold's *training* speakers; ``test_<name>`` = the variant's
utterances of the fold's *test* speakers. The speaker-independence of every fold is kept.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import List, Tuple

from serkit.data.datadir import DataDir
from serkit.data.ops import combine_data, subset_data_dir
from serkit.errors import DataDirError
from serkit.data.folds import check_speaker_independent
from serkit.utils import cli

logger = logging.getLogger("serkit.fold_variants")


def _split(spec: str, what: str) -> Tuple[str, str]:
    if ":" not in spec:
        raise DataDirError(f"{what} '{spec}' must look like <data-dir>:<speaker-prefix>")
    path, prefix = spec.rsplit(":", 1)
    return path, prefix


def _speakers(d: Path) -> List[str]:
    return sorted(set(DataDir(d).table("utt2spk").values()))


def main(argv: List[str]) -> int:
    p = cli.parser(__doc__)
    p.add_argument("--folds-dir", required=True)
    p.add_argument("--train-aug", nargs="*", default=[], metavar="DIR:PREFIX")
    p.add_argument("--test-variant", nargs="*", default=[], metavar="NAME=DIR:PREFIX")
    args = p.parse_args(argv)
    cli.setup_logging(args.verbose)
    folds = sorted((f for f in Path(args.folds_dir).glob("fold*") if f.is_dir()), key=lambda f: int(f.name[4:]))
    if not folds:
        raise DataDirError(f"no fold<k> directories in {args.folds_dir}")
    for fold in folds:
        train_spk = _speakers(fold / "train")
        parts = [fold / "train"]
        for spec in args.train_aug:
            src, prefix = _split(spec, "--train-aug")
            dst = fold / f"aug_{Path(src).name}"
            subset_data_dir(src, dst, spks=[prefix + s for s in train_spk])
            parts.append(dst)
        if args.train_aug:
            combine_data(fold / "train_aug", parts)
            check_speaker_independent(fold / "train_aug", fold / "test")
        for spec in args.test_variant:
            if "=" not in spec:
                raise DataDirError(f"--test-variant '{spec}' must look like <name>=<data-dir>:<speaker-prefix>")
            name, rest = spec.split("=", 1)
            src, prefix = _split(rest, "--test-variant")
            subset_data_dir(src, fold / f"test_{name}", spks=[prefix + s for s in _speakers(fold / "test")])
        logger.info("%s: %d training speakers, %d augmented sets, %d test variants",
                    fold.name, len(train_spk), len(args.train_aug), len(args.test_variant))
    print(f"fold_variants: {len(folds)} folds in {args.folds_dir}")
    return 0


if __name__ == "__main__":
    cli.run(main, prog="fold_variants")

"""Add augmented training data and noisy test sets to every fold of a recipe.

    python -m serkit.bin.fold_variants --folds-dir data/folds \\
        [--train-aug data/all_sp0.9:sp0.9- ...] [--test-variant snr10=data/all_snr10:snr10- ...]

A variant directory holds copies of the corpus whose speaker ids carry a prefix (``sp0.9-03`` is
speaker ``03`` speed-perturbed). For each ``fold<k>``: ``train_aug`` = ``train`` plus the
variants' utterances of the fold's *training* speakers; ``test_<name>`` = the variant's
utterances of the fold's *test* speakers. The speaker-independence of every fold is kept.

``--train-extra DIR`` (multi-corpus training) adds all of ``DIR`` (other corpora on the canonical
labels, e.g. serkit.bin.pool_corpora's ``train``; none of its speakers may be a test speaker) to
every fold's ``train_aug``, less its utterances of labels the fold does not train on (counted in
the log); ``train_aug/utt2corpus`` names each utterance's corpus (the fold's own: ``target``) for
``data.balance: corpus`` or ``corpus_class``.

``train_aug/utt2source`` maps each augmented copy to the training utterance it was made from
(``noise-03a01Fa 03a01Fa``: the copy's id less its prefix), for ``train.consistency`` (a copy's
prediction pulled towards its clean source's).
"""
from __future__ import annotations

import logging
from pathlib import Path
from collections import Counter
from typing import Dict, List, Tuple

from serkit.data.datadir import DataDir
from serkit.data.ops import combine_data, subset_data_dir
from serkit.data.table import write_table
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


def _extra_part(src: Path, fold: Path, dst: Path, corpus_of: Dict[str, str]) -> Path:
    """``src`` less the utterances whose label the fold's training set lacks, copied to ``dst``;
    records each kept utterance's corpus (``src``'s utt2corpus, else its folder name)."""
    labels = set(DataDir(fold / "train").table("utt2emo").values())
    d = DataDir(src)
    utt2emo = d.table("utt2emo")
    keep = [u for u in d.utts if utt2emo.get(u) in labels]
    dropped = Counter(utt2emo.get(u, "<no label>") for u in d.utts if utt2emo.get(u) not in labels)
    if not keep:
        raise DataDirError(f"--train-extra {src}: none of its labels {sorted(set(utt2emo.values()))} is one of "
                           f"{fold / 'train'}'s {sorted(labels)}; map it onto the canonical labels (serkit.bin.pool_corpora)")
    if dropped:
        logger.info("%s: --train-extra %s: left out %s (labels %s does not train on)", fold.name, src,
                    ", ".join(f"{n} {lab}" for lab, n in sorted(dropped.items())), fold.name)
    subset_data_dir(src, dst, utts=keep)
    corpora = d.table("utt2corpus") if (src / "utt2corpus").is_file() else {}
    corpus_of.update({u: corpora.get(u, src.name) for u in keep})
    return dst


def main(argv: List[str]) -> int:
    p = cli.parser(__doc__)
    p.add_argument("--folds-dir", required=True)
    p.add_argument("--train-aug", nargs="*", default=[], metavar="DIR:PREFIX")
    p.add_argument("--test-variant", nargs="*", default=[], metavar="NAME=DIR:PREFIX")
    p.add_argument("--train-extra", nargs="*", default=[], metavar="DIR",
                   help="data of other corpora added whole to every fold's train_aug")
    args = p.parse_args(argv)
    cli.setup_logging(args.verbose)
    folds = sorted((f for f in Path(args.folds_dir).glob("fold*") if f.is_dir()), key=lambda f: int(f.name[4:]))
    if not folds:
        raise DataDirError(f"no fold<k> directories in {args.folds_dir}")
    for fold in folds:
        train_spk = _speakers(fold / "train")
        parts = [fold / "train"]
        train_utts = set(DataDir(fold / "train").utts)
        utt2source: Dict[str, str] = {}
        for spec in args.train_aug:
            src, prefix = _split(spec, "--train-aug")
            dst = fold / f"aug_{Path(src).name}"
            subset_data_dir(src, dst, spks=[prefix + s for s in train_spk])
            parts.append(dst)
            utt2source.update({u: u[len(prefix):] for u in DataDir(dst).utts
                               if u.startswith(prefix) and u[len(prefix):] in train_utts})
        corpus_of = {}
        for i, src in enumerate(args.train_extra):
            parts.append(_extra_part(Path(src), fold, fold / f"extra{i + 1}", corpus_of))
        if args.train_aug or args.train_extra:
            combine_data(fold / "train_aug", parts)
            check_speaker_independent(fold / "train_aug", fold / "test")
        if utt2source:
            write_table(fold / "train_aug" / "utt2source", utt2source)
        if args.train_extra:
            write_table(fold / "train_aug" / "utt2corpus",
                        {u: corpus_of.get(u, "target") for u in DataDir(fold / "train_aug").utts})
        for spec in args.test_variant:
            if "=" not in spec:
                raise DataDirError(f"--test-variant '{spec}' must look like <name>=<data-dir>:<speaker-prefix>")
            name, rest = spec.split("=", 1)
            src, prefix = _split(rest, "--test-variant")
            subset_data_dir(src, fold / f"test_{name}", spks=[prefix + s for s in _speakers(fold / "test")])
        logger.info("%s: %d training speakers, %d augmented sets, %d extra corpora, %d test variants",
                    fold.name, len(train_spk), len(args.train_aug), len(args.train_extra), len(args.test_variant))
    print(f"fold_variants: {len(folds)} folds in {args.folds_dir}")
    return 0


if __name__ == "__main__":
    cli.run(main, prog="fold_variants")

"""Train/dev/test data directories for one cross-corpus experiment, on the shared labels.

    python -m serkit.bin.cross_corpus_sets --labels conf/labels.yaml --train "emodb savee" \\
        --test savee [--dev-speakers 1] [--test-speakers 1] --data-root data --out data/pairs/x

``data/<corpus>`` are prepared corpora (features, CMVN). Each training corpus is mapped to the
canonical labels and restricted to the labels shared with the test corpus; its last
``--dev-speakers`` speakers (sorted) form the dev set. When the test corpus is also a training
corpus (a within-corpus reference), its first ``--test-speakers`` speakers are held out for the
test set and never trained on. Writes ``<out>/{train,dev,test}`` and ``<out>/labels.txt``.
"""
from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import List

from serkit.data.datadir import DataDir
from serkit.data.label_map import load_label_map, map_data_dir, shared_labels
from serkit.data.ops import combine_data, subset_data_dir
from serkit.data.table import write_label_list
from serkit.errors import DataDirError
from serkit.data.folds import check_speaker_independent
from serkit.utils import cli

logger = logging.getLogger("serkit.cross_corpus_sets")


def _speakers(d: Path) -> List[str]:
    return sorted(set(DataDir(d).table("utt2spk").values()))


def main(argv: List[str]) -> int:
    p = cli.parser(__doc__)
    p.add_argument("--labels", required=True, help="label mapping YAML (canonical labels, per-corpus maps)")
    p.add_argument("--train", required=True, help="training corpora, space-separated")
    p.add_argument("--test", required=True, help="test corpus")
    p.add_argument("--dev-speakers", type=int, default=1)
    p.add_argument("--test-speakers", type=int, default=1, help="held-out test speakers when the test corpus is also trained on")
    p.add_argument("--data-root", default="data")
    p.add_argument("--out", required=True)
    args = p.parse_args(argv)
    cli.setup_logging(args.verbose)
    label_map = load_label_map(args.labels)
    train = args.train.split()
    shared = shared_labels(label_map, train, args.test)
    out = Path(args.out)
    if out.exists():
        shutil.rmtree(out)
    work = out / "parts"
    mapped = {}
    corpora = sorted(set(train) | {args.test})
    for _ in range(2):  # a second pass when a copy of a corpus lacks some of the shared labels
        present = set(shared)
        for corpus in corpora:
            mapped[corpus] = work / corpus
            counts = map_data_dir(Path(args.data_root) / corpus, mapped[corpus], label_map.for_corpus(corpus), shared)
            logger.info("%s on %s: %s", corpus, shared, dict(counts))
            present &= set(counts)
        if present == set(shared):
            break
        logger.warning("labels %s are missing from some corpus's data; using %s", sorted(set(shared) - present), sorted(present))
        shared = sorted(present)
    test_spk = _speakers(mapped[args.test])
    held_out = test_spk[: args.test_speakers] if args.test in train else test_spk
    subset_data_dir(mapped[args.test], out / "test", spks=held_out)
    train_parts, dev_parts = [], []
    for corpus in train:
        spks = [s for s in _speakers(mapped[corpus]) if s not in held_out or corpus != args.test]
        if len(spks) <= args.dev_speakers:
            raise DataDirError(f"{corpus}: {len(spks)} speakers left, too few for {args.dev_speakers} dev speakers")
        dev, rest = spks[len(spks) - args.dev_speakers:], spks[: len(spks) - args.dev_speakers]
        subset_data_dir(mapped[corpus], work / f"{corpus}_train", spks=rest)
        train_parts.append(work / f"{corpus}_train")
        if dev:
            subset_data_dir(mapped[corpus], work / f"{corpus}_dev", spks=dev)
            dev_parts.append(work / f"{corpus}_dev")
    combine_data(out / "train", train_parts)
    if dev_parts:
        combine_data(out / "dev", dev_parts)
    check_speaker_independent(out / "train", out / "test")
    write_label_list(out / "labels.txt", shared)
    n = {s: len(DataDir(out / s).utts) for s in ("train", "dev", "test") if (out / s).is_dir()}
    print(f"cross_corpus_sets: train {'+'.join(train)} -> test {args.test} on {len(shared)} labels ({' '.join(shared)}): {n}")
    return 0


if __name__ == "__main__":
    cli.run(main, prog="cross_corpus_sets")

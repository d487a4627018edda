"""Pool prepared corpora into one training set on the canonical labels (multi-corpus training).

    python -m serkit.bin.pool_corpora --labels conf/labels.yaml --corpora "crema_d savee" \\
        [--data-root data] [--dev-speakers 2] [--hold-out "emodb:03,08 savee:DC" | --hold-out-first N] \\
        --out data/pool/x

``data/<corpus>`` are prepared corpora (features, CMVN). Each is mapped onto the canonical labels
(``labels.yaml``: labels mapped to null are left out), its utterance and speaker ids get the
corpus name as a prefix (``crema_d-1001_DFA_ANG_XX``), so ids never collide, and its last
``--dev-speakers`` speakers (sorted) go to the dev set. ``--hold-out`` names speakers kept out of
both (the test speakers of a later evaluation), ``--hold-out-first N`` the first N speakers (sorted)
of every corpus, as ``cross_corpus_sets --test-speakers N`` holds them out; ``<out>/heldout/<corpus>``
gets them, on that corpus's own canonical labels. Writes ``<out>/{train,dev}``, ``<out>/labels.txt`` (the union of
the labels) and ``<out>/corpora.txt`` (``<corpus> <labels>`` a line); every set has ``utt2corpus``
(for ``data.balance: corpus`` or ``corpus_class``).
"""
from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import Dict, List

from serkit.data.datadir import DataDir
from serkit.data.label_map import load_label_map, map_data_dir
from serkit.data.ops import combine_data, copy_data_dir, subset_data_dir
from serkit.data.table import write_label_list, write_table
from serkit.errors import DataDirError
from serkit.utils import cli

logger = logging.getLogger("serkit.pool_corpora")


def parse_hold_out(text: str) -> Dict[str, List[str]]:
    """``"emodb:03,08 savee:DC"`` -> ``{"emodb": ["03", "08"], "savee": ["DC"]}``."""
    out: Dict[str, List[str]] = {}
    for part in text.split():
        corpus, sep, spks = part.partition(":")
        if not sep or not spks:
            raise DataDirError(f"--hold-out '{part}': expected <corpus>:<speaker>[,<speaker>...]")
        out.setdefault(corpus, []).extend(s for s in spks.split(",") if s)
    return out


def main(argv: List[str]) -> int:
    p = cli.parser(__doc__)
    p.add_argument("--labels", required=True, help="label mapping YAML (canonical labels, per-corpus maps)")
    p.add_argument("--corpora", required=True, help="corpora to pool, space-separated")
    p.add_argument("--dev-speakers", type=int, default=2, help="dev speakers per corpus")
    hold = p.add_mutually_exclusive_group()
    hold.add_argument("--hold-out", default="", help="speakers kept out: '<corpus>:<spk>,<spk> ...'")
    hold.add_argument("--hold-out-first", type=int, default=0, help="keep out the first N speakers of every corpus")
    p.add_argument("--data-root", default="data")
    p.add_argument("--out", required=True)
    args = p.parse_args(argv)
    cli.setup_logging(args.verbose)
    label_map = load_label_map(args.labels)
    corpora = args.corpora.split()
    held = parse_hold_out(args.hold_out)
    unknown = sorted(set(held) - set(corpora))
    if unknown:
        raise DataDirError(f"--hold-out names corpora that are not pooled: {unknown}")
    out = Path(args.out)
    if out.exists():
        shutil.rmtree(out)
    work = out / "parts"
    train_parts, dev_parts, labels, lines = [], [], set(), []
    for corpus in corpora:
        mapped = work / f"{corpus}_mapped"
        counts = map_data_dir(Path(args.data_root) / corpus, mapped, label_map.for_corpus(corpus))
        named = work / corpus
        copy_data_dir(mapped, named, utt_prefix=f"{corpus}-", spk_prefix=f"{corpus}-")
        write_table(named / "utt2corpus", {u: corpus for u in DataDir(named).utts})  # for data.balance: corpus
        speakers = sorted(set(DataDir(named).table("utt2spk").values()))
        first = [s.split("-", 1)[1] for s in speakers[: args.hold_out_first]]
        out_spk = [f"{corpus}-{s}" for s in held.get(corpus, first)]
        missing = sorted(set(out_spk) - set(speakers))
        if missing:
            raise DataDirError(f"--hold-out: {corpus} has no speakers {[m.split('-', 1)[1] for m in missing]}")
        rest = [s for s in speakers if s not in out_spk]
        if len(rest) <= args.dev_speakers:
            raise DataDirError(f"{corpus}: {len(rest)} speakers left, too few for {args.dev_speakers} dev speakers")
        dev = rest[len(rest) - args.dev_speakers:]
        subset_data_dir(named, work / f"{corpus}_train", spks=rest[: len(rest) - args.dev_speakers])
        train_parts.append(work / f"{corpus}_train")
        if dev:
            subset_data_dir(named, work / f"{corpus}_dev", spks=dev)
            dev_parts.append(work / f"{corpus}_dev")
        if out_spk:
            subset_data_dir(named, out / "heldout" / corpus, spks=out_spk)
        labels |= set(counts)
        lines.append(f"{corpus} {' '.join(sorted(counts))}\n")
        logger.info("%s: %d train, %d dev, %d held-out speakers; %s", corpus, len(rest) - len(dev), len(dev),
                    len(out_spk), dict(sorted(counts.items())))
    combine_data(out / "train", train_parts)
    if dev_parts:
        combine_data(out / "dev", dev_parts)
    write_label_list(out / "labels.txt", sorted(labels))
    (out / "corpora.txt").write_text("".join(lines))
    shutil.rmtree(work)
    n = {s: len(DataDir(out / s).utts) for s in ("train", "dev") if (out / s).is_dir()}
    print(f"pool_corpora: {'+'.join(corpora)} on {len(labels)} labels ({' '.join(sorted(labels))}): {n}")
    return 0


if __name__ == "__main__":
    cli.run(main, prog="pool_corpora")

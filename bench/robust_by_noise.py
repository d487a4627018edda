"""Which held-out noises cost the most? Accuracy on a noisy test set, by the noise mixed in, against the
same utterances clean.

From the decode directories a recipe run left (stage 6) and each fold's ``test_<cond>/utt2aug`` (the noise
recording of every noisy test utterance): per noise class, how many test utterances it was mixed into,
the accuracy of the system on those utterances clean and noisy, and the drop. Rows sorted by drop. With
``--esc50-csv`` the ESC-50 recordings (``esc50-<clip>``) are grouped by their class; other recordings by
their name without a trailing number (``household-aircon_2`` -> ``household-aircon``).

    python ../../bench/robust_by_noise.py --exp exp --model train+svm --folds-dir data/folds --cond snr5 \\
        --esc50-csv /path/to/noise/esc50/esc50_fold1.csv          (run in the recipe folder)
"""
from __future__ import annotations

import argparse
import csv
import re
import sys
from collections import defaultdict
from pathlib import Path

from serkit.data.table import read_table


def noise_class(name: str, esc50: dict) -> str:
    if name.startswith("esc50-") and name[len("esc50-"):] in esc50:
        return "esc50:" + esc50[name[len("esc50-"):]]
    return re.sub(r"[_-]?\d+$", "", name)


def utt2pred_path(exp: Path, model: str, fold: str, cond: str) -> Path:
    """A system's utt2pred on one test condition: a fused system keeps its noisy sets in fused_<cond>."""
    fused = exp / model / fold / f"fused_{cond}" / "decode_test" / "utt2pred"
    return fused if cond and fused.is_file() else exp / model / fold / f"decode_test{'_' + cond if cond else ''}" / "utt2pred"


def lookup(table: dict, key: str, path: Path, what: str) -> str:
    if key not in table:
        sys.exit(f"robust_by_noise: {path} has no line for {key} ({what}); was stage 6 of the run finished for this set?")
    return table[key]


def main(argv) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--exp", required=True, type=Path, help="the run's exp dir")
    p.add_argument("--model", required=True, help="the system under --exp, e.g. train or train+svm")
    p.add_argument("--folds-dir", required=True, type=Path, help="the run's folds (fold<k>/test*/utt2emo, utt2aug)")
    p.add_argument("--cond", required=True, help="the noisy test variant, e.g. snr5")
    p.add_argument("--esc50-csv", type=Path, help="ESC-50's metadata csv, to group its clips by class")
    args = p.parse_args(argv)
    esc50 = {}
    if args.esc50_csv:
        with open(args.esc50_csv, newline="") as f:
            esc50 = {Path(r["filename"]).stem: r["category"] for r in csv.DictReader(f)}
    folds = sorted((d.name for d in args.folds_dir.glob("fold*") if d.is_dir()), key=lambda n: int(n[4:]))
    if not folds:
        p.error(f"no fold<k> directories in {args.folds_dir}")
    counts = defaultdict(lambda: [0, 0, 0])  # utterances, correct clean, correct noisy
    prefix = args.cond + "-"
    for fold in folds:
        test = args.folds_dir / fold / f"test_{args.cond}"
        ref, aug = read_table(test / "utt2emo"), read_table(test / "utt2aug")
        clean_path = utt2pred_path(args.exp, args.model, fold, "")
        noisy_path = utt2pred_path(args.exp, args.model, fold, args.cond)
        clean, noisy = read_table(clean_path), read_table(noisy_path)
        for utt, emo in ref.items():
            if not utt.startswith(prefix):
                p.error(f"{test}/utt2emo: '{utt}' does not start with '{prefix}' (not a noisy copy of a clean test utterance)")
            fields = dict(kv.split("=", 1) for kv in lookup(aug, utt, test / "utt2aug", "what was mixed in").split() if "=" in kv)
            if "noise" not in fields:
                p.error(f"{test}/utt2aug: '{utt}' has no noise=<recording> (--cond must name a noisy set, e.g. snr5, not rt0.6)")
            row = counts[noise_class(fields["noise"], esc50)]
            row[0] += 1
            row[1] += lookup(clean, utt[len(prefix):], clean_path, "its clean prediction") == emo
            row[2] += lookup(noisy, utt, noisy_path, "its noisy prediction") == emo
    total = [sum(r[i] for r in counts.values()) for i in range(3)]
    print(f"{args.exp}/{args.model}, {args.cond}, {len(folds)} folds: {total[0]} utterances, accuracy "
          f"{100 * total[1] / total[0]:.1f} clean, {100 * total[2] / total[0]:.1f} noisy")
    print("| noise | utterances | clean | noisy | drop |")
    print("|---|---:|---:|---:|---:|")
    for name, (n, c, y) in sorted(counts.items(), key=lambda kv: (kv[1][2] - kv[1][1]) / kv[1][0]):
        print(f"| {name} | {n} | {100 * c / n:.1f} | {100 * y / n:.1f} | {100 * (c - y) / n:.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

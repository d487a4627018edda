"""How much could a fusion weight that follows the test condition (an SNR-dependent weight) buy?

For each test condition (clean, each noisy and reverberated set of a recipe run) and each weight w on
a grid, the UA of ``w * p_model + (1 - w) * p_svm``, mean over folds, from the decode directories a
recipe run left (stage 6). The best weight of a condition is picked on its own test folds: an oracle,
an upper bound on what any SNR estimate feeding the weight could give, not a method to ship.

    python ../../bench/fusion_weight_oracle.py --exp exp --model train --folds-dir data/folds \\
        --conditions "clean snr20 snr10 snr5 snr0 rt0.6"      (run in the recipe folder)
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from serkit.score import late_fusion as lf


def condition_ua(exp: Path, model: str, folds_dir: Path, folds, suffix: str, grid) -> np.ndarray:
    """UA (%) per fold (rows) and weight (columns) on one test condition."""
    uas = np.zeros((len(folds), len(grid)))
    for i, fold in enumerate(folds):
        ours = lf.read_posteriors(exp / model / fold / f"decode_test{suffix}")
        svm = lf.read_posteriors(exp / "baseline_svm" / fold / f"decode_test{suffix}")
        ref = lf.read_reference(folds_dir / fold / f"test{suffix}" / "utt2emo")
        for j, w in enumerate(grid):
            uas[i, j] = 100.0 * lf.scores_of(lf.fused_posteriors(ours, svm, float(w), "linear"), ref)["ua"]
    return uas


def main(argv) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--exp", required=True, type=Path, help="the run's exp dir (holds <model>/ and baseline_svm/)")
    p.add_argument("--model", required=True, help="the model's experiment name under --exp, e.g. train")
    p.add_argument("--folds-dir", required=True, type=Path, help="the run's folds (fold<k>/test*/utt2emo)")
    p.add_argument("--conditions", default="clean", help="'clean' and test variant names, e.g. 'clean snr5 rt0.6'")
    p.add_argument("--step", type=float, default=0.1, help="weight grid step [0.1]")
    p.add_argument("--per-fold", type=float, metavar="W", help="instead: each fold's UA at this one weight")
    args = p.parse_args(argv)
    folds = sorted((d.name for d in args.folds_dir.glob("fold*") if d.is_dir()), key=lambda n: int(n[4:]))
    if not folds:
        p.error(f"no fold<k> directories in {args.folds_dir}")
    if args.per_fold is not None:
        print(f"| condition | {' | '.join(folds)} | mean |  (weight of {args.model}: {args.per_fold:g})")
        for cond in args.conditions.split():
            uas = condition_ua(args.exp, args.model, args.folds_dir, folds, "" if cond == "clean" else "_" + cond,
                               [args.per_fold])[:, 0]
            print(f"| {cond} | " + " | ".join(f"{x:.1f}" for x in uas) + f" | {uas.mean():.1f} |")
        return 0
    grid = np.round(np.arange(0.0, 1.0 + 1e-9, args.step), 4)
    half = int(np.argmin(np.abs(grid - 0.5)))
    print(f"{args.exp}: {args.model} + SVM, {len(folds)} folds, UA % by the weight of {args.model}")
    print("| condition | " + " | ".join(f"w={w:g}" for w in grid) + " | best w | best - (w=0.5) |")
    print("|---|" + "---:|" * (len(grid) + 2))
    for cond in args.conditions.split():
        mean = condition_ua(args.exp, args.model, args.folds_dir, folds, "" if cond == "clean" else "_" + cond, grid).mean(0)
        best = int(np.argmax(mean))
        print(f"| {cond} | " + " | ".join(f"{x:.1f}" for x in mean) + f" | {grid[best]:g} | {mean[best] - mean[half]:+.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

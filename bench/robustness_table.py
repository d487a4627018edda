#!/usr/bin/env python3
"""The EmoDB robustness table: UA on clean speech and on speech mixed with held-out noise.

    python bench/robustness_table.py --recipe egs/emodb --reference exp/train --folds 1,3,5,7,9 \\
        none=exp/train speed=exp_robust/sp/train_sp ...

Each ``name=<experiment>`` has ``results/summary.json`` and ``results_snr<N>/summary.json``. The
reference run (the recipe's own, on all folds) is restricted to ``--folds`` so that every row
covers the same test speakers. With ``--update RESULTS.md`` the table (and ``--note`` text above
it) goes into that file's ``robustness`` section, which the recipe's results stage keeps.
"""
import argparse
import sys
from pathlib import Path
from statistics import mean

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from serkit.utils import md_sections  # noqa: E402
from fold_scores import fold_uas, mean_std as cell  # noqa: E402  (this folder)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--recipe", default="egs/emodb")
    p.add_argument("--reference", default="exp/train", help="the experiment restricted to --folds")
    p.add_argument("--folds", default="1,3,5,7,9")
    p.add_argument("--snrs", default="20,10,5,0")
    p.add_argument("--update", help="put the table into this Markdown file's 'robustness' section")
    p.add_argument("--note", default="", help="Markdown text above the table (with --update)")
    p.add_argument("rows", nargs="+", metavar="NAME=EXP")
    args = p.parse_args()
    keep = {int(k) for k in args.folds.split(",")}
    snrs = args.snrs.split(",")
    root = Path(args.recipe)
    lines = ["| training | clean | " + " | ".join(f"{s} dB" for s in snrs) + " | 5 dB vs clean |",
             "|---|---:|" + "---:|" * len(snrs) + "---:|"]
    for row in args.rows:
        if "=" not in row:
            p.error(f"row '{row}' is not NAME=EXPERIMENT (e.g. none=exp/train)")
        name, exp = row.split("=", 1)
        subset = keep if exp == args.reference else None
        clean = fold_uas(root / exp / "results" / "summary.json", subset)
        noisy = {s: fold_uas(root / exp / f"results_snr{s}" / "summary.json", subset) for s in snrs}
        drop = mean(noisy["5"]) - mean(clean) if "5" in noisy else float("nan")
        lines.append(f"| {name} | {cell(clean)} | " + " | ".join(cell(noisy[s]) for s in snrs) + f" | {drop:+.1f} |")
    table = "\n".join(lines) + "\n"
    print(table, end="")
    if args.update:
        body = (args.note.strip() + "\n\n" if args.note.strip() else "") + table
        md_sections.update_file(args.update, "robustness", body)
        print(f"robustness table written into {args.update}", file=sys.stderr)


if __name__ == "__main__":
    main()

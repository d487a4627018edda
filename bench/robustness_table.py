#!/usr/bin/env python3
"""A robustness table: UA on clean speech, on speech mixed with held-out noise, and reverberated.

    python bench/robustness_table.py --recipe egs/emodb --reference exp/train --folds 1,3,5,7,9 \\
        none=exp/train speed=exp_robust/sp/train_sp ...

Each ``name=<experiment>`` has ``results/summary.json``, ``results_snr<N>/summary.json`` and, with
``--rt60s``, ``results_rt<T>/summary.json``. The
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
    p.add_argument("--rt60s", default="", help="reverberated test sets, e.g. 0.3,0.6,0.9")
    p.add_argument("--update", help="put the table into this Markdown file's 'robustness' section")
    p.add_argument("--note", default="", help="Markdown text above the table (with --update)")
    p.add_argument("--section", default="robustness", help="the section of --update's file [robustness]")
    p.add_argument("rows", nargs="+", metavar="NAME=EXP")
    args = p.parse_args()
    keep = {int(k) for k in args.folds.split(",")}
    snrs = args.snrs.split(",")
    rt60s = [t for t in args.rt60s.split(",") if t]
    root = Path(args.recipe)
    drops = [s for s in ("5", "0") if s in snrs]
    lines = ["| training | clean | " + " | ".join([f"{s} dB" for s in snrs] + [f"RT60 {t} s" for t in rt60s]
                                               + [f"{s} dB vs clean" for s in drops]) + " |",
             "|---|---:|" + "---:|" * (len(snrs) + len(rt60s) + len(drops))]
    for row in args.rows:
        if "=" not in row:
            p.error(f"row '{row}' is not NAME=EXPERIMENT (e.g. none=exp/train)")
        name, exp = row.split("=", 1)
        subset = keep if exp == args.reference else None
        clean = fold_uas(root / exp / "results" / "summary.json", subset)
        noisy = {s: fold_uas(root / exp / f"results_snr{s}" / "summary.json", subset) for s in snrs}
        reverb = {t: fold_uas(root / exp / f"results_rt{t}" / "summary.json", subset) for t in rt60s}
        cells = [cell(noisy[s]) for s in snrs] + [cell(reverb[t]) for t in rt60s]
        cells += [f"{mean(noisy[s]) - mean(clean):+.1f}" for s in drops]
        lines.append(f"| {name} | {cell(clean)} | " + " | ".join(cells) + " |")
    table = "\n".join(lines) + "\n"
    print(table, end="")
    if args.update:
        body = (args.note.strip() + "\n\n" if args.note.strip() else "") + table
        md_sections.update_file(args.update, args.section, body)
        print(f"robustness table written into {args.update}", file=sys.stderr)


if __name__ == "__main__":
    main()

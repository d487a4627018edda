#!/usr/bin/env python3
"""The EmoDB deployment table: size on disk, parameters, single-thread latency and UA of the
fp32, INT8, pruned and distilled models, on the same test speakers.

    python bench/deployment_table.py --recipe egs/emodb --folds 1,2 --update egs/emodb/RESULTS.md \\
        "fp32|exp/train|exp/train/fold1/export|model.onnx" \\
        "INT8|exp/train_int8|exp/train/fold1/export|model_int8.onnx" ...

A row is ``name|scored experiment|export folder|file``: UA comes from the experiment's
``results/summary.json`` restricted to ``--folds`` (by fold name, so a run on all ten folds and
one on a fold file with the same fold names line up); size, parameters and latency from the
export folder's ``export_summary.json`` (written by ``python -m serkit.bin.export``). Ratios and the UA
change are against the first row. With ``--update`` the table goes into the file's ``deployment``
section (serkit.utils.md_sections), kept when the recipe rewrites the file.
"""
import argparse
import json
import sys
from pathlib import Path
from statistics import mean

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from serkit.utils import md_sections  # noqa: E402
from fold_scores import fold_uas, mean_std  # noqa: E402  (this folder)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--recipe", default="egs/emodb", type=Path)
    p.add_argument("--folds", default="1,2")
    p.add_argument("--update", type=Path)
    p.add_argument("--note", default="")
    p.add_argument("rows", nargs="+", metavar="NAME|EXP|EXPORT_DIR|FILE")
    args = p.parse_args()
    keep = {int(k) for k in args.folds.split(",")}
    lines = ["| model | file | size (KB) | gzip (KB) | parameters | non-zero | ms per s of audio (1 thread) | "
             "UA | times smaller | times faster | UA change |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    first = None
    for row in args.rows:
        if row.count("|") != 3:
            p.error(f"row '{row}' is not NAME|EXPERIMENT|EXPORT_DIR|FILE")
        name, exp, export_dir, fname = row.split("|")
        uas = fold_uas(args.recipe / exp / "results" / "summary.json", keep)
        info = json.loads((args.recipe / export_dir / "export_summary.json").read_text())[fname]
        lat = info.get("latency_s_per_audio_s_1thread")
        if lat is None:
            raise SystemExit(f"{export_dir}: no latency for {fname}; export with --latency-repeats > 0")
        ua = mean(uas)
        first = first or (info["size_bytes"], lat, ua)
        cell = mean_std(uas)
        lines.append(f"| {name} | {fname} | {info['size_bytes'] / 1024:.0f} | {info['gzip_bytes'] / 1024:.0f} | "
                     f"{info['parameters']:,} | {info['nonzero_parameters']:,} | {1000 * lat:.1f} | {cell} | "
                     f"{first[0] / info['size_bytes']:.2f} | {first[1] / lat:.2f} | {ua - first[2]:+.1f} |")
    table = "\n".join(lines) + "\n"
    print(table, end="")
    if args.update:
        body = (args.note.strip() + "\n\n" if args.note.strip() else "") + table
        md_sections.update_file(args.update, "deployment", body)
        print(f"deployment table written into {args.update}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

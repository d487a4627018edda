"""Score emotion hypotheses against references: WA, UA, macro-F1, per-class scores, confusion matrix.

Inputs are Kaldi tables '<utt> <label>'. Writes <out-dir>/scores.json, scores.txt (printed too),
confusion.png, and the scored pairs as ref.utt2emo and hyp.utt2pred (for aggregate_scores).
UA and macro-F1 average over the classes present in the reference.
"""
from __future__ import annotations

import json
import logging
from typing import List

from serkit.data.datadir import ensure_dir
from serkit.data.table import read_label_list
from serkit.data.table import write_table
from serkit.score.metrics import compute_scores, pair_tables, read_label_table
from serkit.score.plot import default_title, plot_confusion
from serkit.utils import cli
from serkit.utils.atomic import atomic_write_text

logger = logging.getLogger("serkit.compute_metrics")


def main(argv: List[str]) -> int:
    p = cli.parser(__doc__, prog="compute_metrics")
    p.add_argument("--labels", help="label set, one label per line, in display order (default: sorted labels seen)")
    p.add_argument("--allow-missing", action="store_true",
                   help="score only the reference utterances that have a hypothesis (counted and logged)")
    p.add_argument("--name", default="", help="name of this test set in titles (e.g. the fold)")
    p.add_argument("ref", help="reference table '<utt> <emotion>' (e.g. data/test/utt2emo)")
    p.add_argument("hyp", help="hypothesis table '<utt> <emotion>'")
    p.add_argument("out_dir")
    args = p.parse_args(argv)
    cli.setup_logging(args.verbose)
    labels = read_label_list(args.labels) if args.labels else None
    ref, hyp = read_label_table(args.ref), read_label_table(args.hyp)
    paired = pair_tables(ref, hyp, labels=labels, allow_missing=args.allow_missing)
    scores = compute_scores(paired.ref, paired.hyp, labels)
    scores.num_missing = len(paired.missing)
    out = ensure_dir(args.out_dir)
    info = scores.to_dict()
    info.update(name=args.name, ref=str(args.ref), hyp=str(args.hyp))
    atomic_write_text(out / "scores.json", json.dumps(info, indent=2) + "\n")
    text = scores.table(f"{args.name}: {args.hyp} vs {args.ref}" if args.name else f"{args.hyp} vs {args.ref}")
    atomic_write_text(out / "scores.txt", text)
    write_table(out / "ref.utt2emo", {u: r for u, r in zip(paired.utts, paired.ref)})
    write_table(out / "hyp.utt2pred", {u: h for u, h in zip(paired.utts, paired.hyp)})
    plot_confusion(scores, out / "confusion.png", title=default_title(scores, args.name))
    print(text, end="")
    logger.info("wrote %s/{scores.json,scores.txt,confusion.png,ref.utt2emo,hyp.utt2pred}", out)
    return 0


if __name__ == "__main__":
    cli.run(main, prog="compute_metrics")

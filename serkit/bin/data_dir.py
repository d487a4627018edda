"""Data directory tools behind utils/{validate,fix,subset,combine,copy,split}_data_dir.sh."""
from __future__ import annotations

import logging
from typing import List

from serkit.data import ops
from serkit.data.datadir import DataDir
from serkit.data.table import read_table
from serkit.data.validate import validate_data_dir
from serkit.errors import DataDirError
from serkit.utils import cli

logger = logging.getLogger("serkit")


def _validate(args) -> int:
    report = validate_data_dir(args.data_dir, require_emo=not args.no_emo, check_feats=not args.no_feats)
    for warning in report.warnings:
        logger.warning(warning)
    report.raise_if_bad()
    d = DataDir(args.data_dir)
    print(f"validate_data_dir: {args.data_dir} is OK ({len(d.utts)} utterances, {len(d.table('spk2utt'))} speakers)")
    return 0


def _fix(args) -> int:
    summary = ops.fix_data_dir(args.data_dir)
    print(f"fix_data_dir: {args.data_dir}: {summary}; the tables as they were are in {summary.backup}")
    return 0


def _subset(args) -> int:
    if args.utt_list or args.spk_list:
        ids = list(read_table(args.utt_list or args.spk_list, value_required=False))
        kw = {"utts": ids} if args.utt_list else {"spks": ids}
        n = ops.subset_data_dir(args.src, args.dst, **kw)
    else:
        if args.num_utts is None:
            raise DataDirError("subset_data_dir: give --utt-list, --spk-list or a number of utterances")
        utts = DataDir(args.src).utts
        if args.num_utts > len(utts):
            raise DataDirError(f"subset_data_dir: asked for {args.num_utts} utterances, {args.src} has {len(utts)}")
        if args.first:
            chosen = utts[: args.num_utts]
        else:  # evenly spaced, deterministic (Kaldi's default)
            chosen = [utts[int(i * len(utts) / args.num_utts)] for i in range(args.num_utts)]
        n = ops.subset_data_dir(args.src, args.dst, utts=chosen)
    print(f"subset_data_dir: wrote {n} utterances to {args.dst}")
    return 0


def _combine(args) -> int:
    ops.combine_data(args.dst, args.srcs)
    print(f"combine_data: {args.dst} has {len(DataDir(args.dst).utts)} utterances from {len(args.srcs)} directories")
    return 0


def _copy(args) -> int:
    ops.copy_data_dir(
        args.src, args.dst, utt_prefix=args.utt_prefix, spk_prefix=args.spk_prefix,
        utt_suffix=args.utt_suffix, spk_suffix=args.spk_suffix,
    )
    print(f"copy_data_dir: copied {args.src} to {args.dst}")
    return 0


def _split(args) -> int:
    parts = ops.split_data(args.data_dir, args.num_jobs, per_utt=args.per_utt)
    print(f"split_data: {len(parts)} parts under {parts[0].parent}")
    return 0


def main(argv: List[str]) -> int:
    p = cli.parser("Kaldi data directory tools")
    sub = p.add_subparsers(dest="command", required=True)
    v = sub.add_parser("validate", help="check a data directory")
    v.add_argument("--no-emo", action="store_true", help="utt2emo is not required (unlabelled data)")
    v.add_argument("--no-feats", action="store_true", help="do not check feats.scp")
    v.add_argument("data_dir")
    v.set_defaults(fn=_validate)
    f = sub.add_parser("fix", help="keep utterances present in every table; sort; regenerate spk2utt")
    f.add_argument("data_dir")
    f.set_defaults(fn=_fix)
    s = sub.add_parser("subset", help="copy a subset of utterances or speakers")
    s.add_argument("--utt-list", help="file whose first column lists the utterances to keep")
    s.add_argument("--spk-list", help="file whose first column lists the speakers to keep")
    s.add_argument("--first", action="store_true", help="with <num-utts>: take the first N, not evenly spaced")
    s.add_argument("src")
    s.add_argument("num_utts", nargs="?", type=int)
    s.add_argument("dst")
    s.set_defaults(fn=_subset)
    c = sub.add_parser("combine", help="merge data directories")
    c.add_argument("dst")
    c.add_argument("srcs", nargs="+")
    c.set_defaults(fn=_combine)
    cp = sub.add_parser("copy", help="copy, renaming utterances and speakers")
    for opt in ("--utt-prefix", "--spk-prefix", "--utt-suffix", "--spk-suffix"):
        cp.add_argument(opt, default="")
    cp.add_argument("src")
    cp.add_argument("dst")
    cp.set_defaults(fn=_copy)
    sp = sub.add_parser("split", help="split into <data>/split<N>[utt]/<k>")
    sp.add_argument("--per-utt", action="store_true", help="split by utterance, not by speaker")
    sp.add_argument("data_dir")
    sp.add_argument("num_jobs", type=int)
    sp.set_defaults(fn=_split)
    args = p.parse_args(argv)
    cli.setup_logging(args.verbose)
    return args.fn(args)


if __name__ == "__main__":
    cli.run(main, prog="data_dir")

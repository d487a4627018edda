"""Speaker-independent cross-validation folds: <out-root>/<fold>/{train,dev,test} data directories.

Schemes: loso (leave one speaker out), leave-n-out (consecutive groups of N speakers in sorted
order), file (a fold file: one '<fold-name> <test-spk,...> [<dev-spk,...> | -]' line per fold).
Dev speakers: the --dev-speakers speakers after the test group in speaker order (0: no dev set).
<out-root>/folds.txt records the folds as a fold file, so a run can be repeated with --scheme file.
"""
from __future__ import annotations

from collections import Counter
from typing import List

from serkit.data.datadir import DataDir
from serkit.data.folds import SCHEMES, FoldError, make_fold_dirs, make_folds
from serkit.utils import cli


def main(argv: List[str]) -> int:
    p = cli.parser(__doc__, prog="make_folds")
    p.add_argument("--scheme", choices=SCHEMES,
                   help="how to choose the test speakers (default: loso, or file with --fold-file)")
    p.add_argument("--n", type=int, default=2, help="speakers per test group for leave-n-out (default: 2)")
    p.add_argument("--fold-file", help="fold file for --scheme file")
    p.add_argument("--dev-speakers", type=int, default=1, help="dev speakers per fold, 0 for none (default: 1)")
    p.add_argument("data_dir")
    p.add_argument("out_root")
    args = p.parse_args(argv)
    cli.setup_logging(args.verbose)
    if args.scheme is None:
        args.scheme = "file" if args.fold_file else "loso"
    elif args.fold_file and args.scheme != "file":
        raise FoldError(f"--fold-file is only used with --scheme file, not --scheme {args.scheme}; drop one of them")
    folds = make_folds(args.data_dir, args.scheme, n=args.n, fold_file=args.fold_file, dev_speakers=args.dev_speakers)
    make_fold_dirs(args.data_dir, folds, args.out_root)
    utts_per_spk = Counter(DataDir(args.data_dir).table("utt2spk").values())
    for fold in folds:
        print(fold.describe(utts_per_spk))
    print(f"make_folds: wrote {len(folds)} folds ({args.scheme}) to {args.out_root} "
          f"(list in {args.out_root}/folds.txt)")
    return 0


if __name__ == "__main__":
    cli.run(main, prog="make_folds")

"""openSMILE functionals of every utterance of a data directory, for the baseline SVM.

    python -m serkit.bin.extract_functionals [--feature-set ComParE_2016] [--jobs N] <data-dir> <out-dir>

Writes ``<out-dir>/<feature-set>.ark`` and ``.scp`` (one vector per utterance; unreadable audio is
skipped with a warning). An existing ``.scp`` is kept: the functionals are extracted once and
shared by every experiment that uses the data directory (``serkit.bin.baseline_svm
--functionals``; egs/cross_corpus extracts each corpus once for all its pairs).
"""
from __future__ import annotations

from pathlib import Path
from typing import List

from serkit.baseline.opensmile_svm import extract_functionals, require_available
from serkit.data.datadir import DataDir
from serkit.utils import cli


def main(argv: List[str]) -> int:
    p = cli.parser(__doc__)
    p.add_argument("--feature-set", default="ComParE_2016")
    p.add_argument("--jobs", type=int, default=1, help="extracting processes [1]")
    p.add_argument("data_dir")
    p.add_argument("out_dir")
    args = p.parse_args(argv)
    cli.setup_logging(args.verbose)
    require_available("extracting functionals")
    out = Path(args.out_dir)
    feats = extract_functionals(args.data_dir, out / f"{args.feature_set}.ark", out / f"{args.feature_set}.scp",
                                args.feature_set, jobs=args.jobs)
    n = len(DataDir(args.data_dir).utts)
    print(f"extract_functionals: {len(feats)} of {n} utterances of {args.data_dir} -> {out / (args.feature_set + '.scp')}")
    return 0


if __name__ == "__main__":
    cli.run(main, prog="extract_functionals")

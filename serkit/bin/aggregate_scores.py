"""Combine per-fold scores: mean ± sample std (ddof=1) of UA/WA/macro-F1, and pooled scores.

Each fold directory is an out-dir of compute_metrics (scores.json, ref.utt2emo, hyp.utt2pred).
Writes <out-dir>/summary.json, summary.md (printed too) and confusion.png (pooled).
"""
from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Dict, List, Tuple

from serkit.data.datadir import ensure_dir
from serkit.score.metrics import Scores, ScoreError, aggregate, compute_scores, pair_tables, read_label_table
from serkit.score.plot import default_title, plot_confusion
from serkit.utils import cli
from serkit.utils.atomic import atomic_write_text

logger = logging.getLogger("serkit.aggregate_scores")


def _read_json(path: Path) -> dict:
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ScoreError(f"{path}: missing; run serkit.bin.compute_metrics with out-dir {path.parent} first") from None
    except ValueError as err:
        raise ScoreError(f"{path}: not valid JSON ({err}); rerun serkit.bin.compute_metrics") from None
    if not isinstance(info, dict) or not isinstance(info.get("labels"), list):
        raise ScoreError(f"{path}: no 'labels' list; is it a scores.json written by serkit.bin.compute_metrics?")
    return info


def _load_fold(fold_dir: Path) -> Tuple[dict, List[str], List[str], List[str]]:
    info = _read_json(fold_dir / "scores.json")
    ref, hyp = read_label_table(fold_dir / "ref.utt2emo"), read_label_table(fold_dir / "hyp.utt2pred")
    paired = pair_tables(ref, hyp, labels=info["labels"])
    return info, paired.utts, paired.ref, paired.hyp


def main(argv: List[str]) -> int:
    p = cli.parser(__doc__, prog="aggregate_scores")
    p.add_argument("--title", default="", help="heading of summary.md")
    p.add_argument("out_dir")
    p.add_argument("fold_dirs", nargs="+", help="compute_metrics out-dirs, one per fold")
    args = p.parse_args(argv)
    cli.setup_logging(args.verbose)
    folds: List[Scores] = []
    names: List[str] = []
    labels: List[str] = []
    owner: Dict[str, str] = {}
    pooled_ref: List[str] = []
    pooled_hyp: List[str] = []
    for fold_dir in map(Path, args.fold_dirs):
        info, utts, ref, hyp = _load_fold(fold_dir)
        for utt in utts:
            if utt in owner:
                raise ScoreError(
                    f"utterance '{utt}' is a test utterance of both {owner[utt]} and {fold_dir}; each utterance must "
                    f"be tested in exactly one fold for pooled scores: check the folds (make_folds) or the "
                    f"directories given"
                )
            owner[utt] = str(fold_dir)
        scores = compute_scores(ref, hyp, info["labels"])
        scores.num_missing = int(info.get("num_missing", 0))
        for m in ("wa", "ua", "macro_f1"):
            if not isinstance(info.get(m), (int, float)) or abs(info[m] - getattr(scores, m)) > 1e-9:
                raise ScoreError(
                    f"{fold_dir}/scores.json: {m} = {info.get(m)} but ref.utt2emo/hyp.utt2pred give "
                    f"{getattr(scores, m)}; "
                    f"the files are out of step: rerun serkit.bin.compute_metrics for this fold"
                )
        folds.append(scores)
        names.append(info.get("name") or str(fold_dir))
        labels += [label for label in info["labels"] if label not in labels]
        pooled_ref += ref
        pooled_hyp += hyp
    result = aggregate(folds, pooled_ref, pooled_hyp, labels=labels, names=names)
    out = ensure_dir(args.out_dir)
    atomic_write_text(out / "summary.json", json.dumps(result.to_dict(), indent=2) + "\n")
    md = result.markdown(args.title)
    atomic_write_text(out / "summary.md", md)
    title = default_title(result.pooled, f"pooled, {len(folds)} folds")
    plot_confusion(result.pooled, out / "confusion.png", title=title)
    print(md, end="")
    return 0


if __name__ == "__main__":
    cli.run(main, prog="aggregate_scores")

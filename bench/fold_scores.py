"""Per-fold UA from a scored experiment's ``summary.json`` (written by serkit.bin.aggregate_scores),
shared by the benchmark table scripts in this folder."""
import json
from pathlib import Path
from statistics import mean, stdev
from typing import Iterable, List, Optional


def fold_number(name: str, where: str = "") -> int:
    """``fold7`` -> 7."""
    if not name.startswith("fold") or not name[4:].isdigit():
        raise SystemExit(f"{where}: fold name '{name}' is not fold<N>; the tables match folds by number")
    return int(name[4:])


def fold_uas(summary: Path, keep: Optional[Iterable[int]] = None) -> List[float]:
    """UA in percent of every fold in ``summary``, or of the folds numbered in ``keep`` (all of
    which must be there: a missing fold would make rows cover different test speakers)."""
    if not summary.is_file():
        raise SystemExit(f"{summary}: not found; score the experiment first")
    folds = json.loads(summary.read_text()).get("folds")
    if not folds:
        raise SystemExit(f"{summary}: no per-fold scores ('folds'); write it with python -m serkit.bin.aggregate_scores")
    if keep is not None:
        keep = set(keep)
        folds = [f for f in folds if fold_number(f["name"], str(summary)) in keep]
        if len(folds) != len(keep):
            raise SystemExit(f"{summary}: has folds {sorted(f['name'] for f in folds)}, not all of {sorted(keep)}")
    return [100 * f["ua"] for f in folds]


def mean_std(values: List[float]) -> str:
    """``81.5 ± 5.5``, or the value alone for one fold."""
    return f"{mean(values):.1f} ± {stdev(values):.1f}" if len(values) > 1 else f"{values[0]:.1f}"

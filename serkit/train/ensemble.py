"""Training a seed ensemble (``train.ensemble: N``): N members, each a full training run with seed
``train.seed + i`` in ``<exp>/member<i>/``, combined into ``<exp>/final.pt`` as one
:class:`serkit.models.ensemble.Ensemble` model."""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any, Dict, List, Sequence

from serkit.errors import SerkitError
from serkit.train.checkpoint import load_checkpoint, save_checkpoint
from serkit.train.config import TrainConfig


def member_config(config: TrainConfig, index: int) -> TrainConfig:
    """Member ``index``'s config (0-based): the ensemble's, with seed ``seed + index``, one model."""
    loop = dataclasses.replace(config.train, seed=config.train.seed + index, ensemble=1)
    return dataclasses.replace(config, train=loop)


def member_dirs(exp_dir, n: int) -> List[Path]:
    return [Path(exp_dir) / f"member{i + 1}" for i in range(n)]


def combine_members(paths: Sequence[Path]) -> Dict[str, Any]:
    """One checkpoint holding every member's weights as an ``ensemble`` model (metadata: the first's)."""
    states = [load_checkpoint(p) for p in paths]
    base = states[0]
    for state, path in zip(states[1:], paths[1:]):
        for key in ("model_name", "model_options", "labels", "input_dim"):
            if state[key] != base[key]:
                raise SerkitError(f"{path} differs from {paths[0]} in {key} ({state[key]!r} vs {base[key]!r}); "
                                  f"an ensemble's members must share the model and the labels")
    out = {k: v for k, v in base.items() if k not in ("optimizer", "scheduler", "rng", "averaged_from")}
    out["model_name"] = "ensemble"
    out["model_options"] = {"member": base["model_name"], "member_options": base["model_options"], "members": len(states)}
    out["model"] = {f"members.{i}.{k}": v for i, s in enumerate(states) for k, v in s["model"].items()}
    out["ensemble_of"] = [str(p) for p in paths]
    return out


def write_ensemble(exp_dir, n: int) -> Path:
    """``final.pt``, ``history.json`` (every member's epochs, tagged) and ``train_summary.json``
    (epochs and seconds summed: what the ensemble cost) from the trained members."""
    exp = Path(exp_dir)
    dirs = member_dirs(exp, n)
    save_checkpoint(combine_members([d / "final.pt" for d in dirs]), exp / "final.pt")
    histories = [json.loads((d / "history.json").read_text()) for d in dirs]
    summaries = [json.loads((d / "train_summary.json").read_text()) for d in dirs]
    epochs = [{**row, "member": i + 1} for i, h in enumerate(histories) for row in h["epochs"]]
    (exp / "history.json").write_text(json.dumps({"epochs": epochs, "members": n}, indent=2) + "\n")
    summary = {"members": summaries, "epochs_run": sum(s["epochs_run"] for s in summaries),
               "train_seconds": sum(s["train_seconds"] for s in summaries)}
    (exp / "train_summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    return exp / "final.pt"

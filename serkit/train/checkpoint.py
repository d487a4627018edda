"""Checkpoints: atomic writes, loading with clear errors, averaging of several checkpoints."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List, Sequence

import torch

from serkit.errors import SerkitError
from serkit.utils.atomic import atomic_path


def save_checkpoint(state: Dict[str, Any], path) -> None:
    """``torch.save`` through a temporary file and a rename: a crash never leaves half a file."""
    with atomic_path(path) as tmp:
        torch.save(state, tmp)


def load_checkpoint(path, map_location="cpu") -> Dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise SerkitError(f"checkpoint '{path}' does not exist; check the path or rerun training")
    try:
        state = torch.load(path, map_location=map_location, weights_only=False)
    except Exception as err:  # truncated or foreign file
        raise SerkitError(f"checkpoint '{path}' cannot be read ({type(err).__name__}: {err})") from None
    for key in ("model", "model_name", "model_options", "labels", "input_dim"):
        if key not in state:
            raise SerkitError(f"checkpoint '{path}' is not a serkit model checkpoint (no '{key}')")
    return state


def average_checkpoints(paths: Sequence[Path]) -> Dict[str, Any]:
    """The first checkpoint with its model weights replaced by the mean over ``paths``.

    Integer buffers (BatchNorm's ``num_batches_tracked``) are taken from the first checkpoint.
    """
    if not paths:
        raise SerkitError("no checkpoints to average")
    states = [load_checkpoint(p) for p in paths]
    base = states[0]
    for other, p in zip(states[1:], paths[1:]):
        if other["model"].keys() != base["model"].keys():
            raise SerkitError(f"checkpoint '{p}' holds a different model than '{paths[0]}'; cannot average")
    averaged: Dict[str, torch.Tensor] = {}
    for key, value in base["model"].items():
        if value.is_floating_point():
            averaged[key] = sum(s["model"][key] for s in states) / len(states)
        else:
            averaged[key] = value.clone()
    out = {k: v for k, v in base.items() if k not in ("optimizer", "scheduler", "rng")}
    out["model"] = averaged
    out["averaged_from"] = [str(p) for p in paths]
    return out


def epoch_checkpoints(exp_dir) -> List[Path]:
    """``epoch_<n>.pt`` files of an experiment, by epoch."""
    files = Path(exp_dir).glob("epoch_*.pt")
    return sorted(files, key=lambda p: int(p.stem.split("_")[1]))

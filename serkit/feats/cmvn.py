"""Kaldi-format CMVN statistics and their application.

Stats are Kaldi's 2 x (dim+1) double accumulator: row 0 holds the sum of the features and, in
its last column, the frame count; row 1 holds the sum of squares (last column 0).
"""
from __future__ import annotations

from typing import Iterable

import numpy as np

from serkit.errors import SerkitError


def accumulate(mats: Iterable[np.ndarray], stats: np.ndarray = None) -> np.ndarray:
    for mat in mats:
        mat = np.asarray(mat, dtype=np.float64)
        if stats is None:
            stats = np.zeros((2, mat.shape[1] + 1), dtype=np.float64)
        if mat.shape[1] + 1 != stats.shape[1]:
            raise SerkitError(f"feature dimension {mat.shape[1]} differs from earlier ones ({stats.shape[1] - 1})")
        stats[0, :-1] += mat.sum(axis=0)
        stats[0, -1] += mat.shape[0]
        stats[1, :-1] += (mat * mat).sum(axis=0)
    if stats is None:
        raise SerkitError("no features to accumulate CMVN statistics from")
    return stats


def mean_std(stats: np.ndarray, var_floor: float = 1e-10):
    stats = np.asarray(stats, dtype=np.float64)
    if stats.ndim != 2 or stats.shape[0] != 2:
        raise SerkitError(f"CMVN stats must be a 2 x (dim+1) matrix, got shape {stats.shape}")
    count = stats[0, -1]
    if count < 1:
        raise SerkitError("CMVN stats have a frame count below 1")
    mean = stats[0, :-1] / count
    var = np.maximum(stats[1, :-1] / count - mean * mean, var_floor)
    return mean, np.sqrt(var)


def apply_cmvn(mat: np.ndarray, stats: np.ndarray, norm_vars: bool = True) -> np.ndarray:
    """Subtract the mean (and divide by the standard deviation when ``norm_vars``)."""
    mean, std = mean_std(stats)
    if mat.shape[1] != mean.shape[0]:
        raise SerkitError(f"features have dimension {mat.shape[1]} but CMVN stats have {mean.shape[0]}")
    out = mat - mean
    if norm_vars:
        out = out / std
    return out.astype(np.float32, copy=False)

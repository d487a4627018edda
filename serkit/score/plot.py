"""Confusion-matrix pictures: a PNG file, or an HWC uint8 array for TensorBoard's ``add_image``.

Cells show the row-normalised percentage (share of the reference class) and the count.
matplotlib is imported inside the functions, with the Agg canvas (no display needed).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import numpy as np

from serkit.data.table import PathLike
from serkit.score.metrics import Scores
from serkit.utils.atomic import atomic_path


def default_title(scores: Scores, name: str = "") -> str:
    head = f"{name}: " if name else ""
    return f"{head}UA {100 * scores.ua:.2f}%  WA {100 * scores.wa:.2f}%  ({scores.num_utts} utts)"


def row_percentages(confusion: np.ndarray) -> np.ndarray:
    """Each row as percentages of its sum (rows of reference classes with no utterances stay 0)."""
    conf = np.asarray(confusion, dtype=np.float64)
    rows = conf.sum(axis=1, keepdims=True)
    return np.divide(100.0 * conf, rows, out=np.zeros_like(conf), where=rows > 0)


def confusion_figure(scores: Scores, title: Optional[str] = None) -> Any:
    """A matplotlib ``Figure`` (with an Agg canvas) of the confusion matrix of ``scores``."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    labels = scores.labels
    pct = row_percentages(scores.confusion)
    n = len(labels)
    side = max(4.0, 0.9 * n + 2.0)
    fig = Figure(figsize=(side + 1.0, side), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    image = ax.imshow(pct, cmap="Blues", vmin=0.0, vmax=100.0)
    fig.colorbar(image, ax=ax, label="% of the reference class")
    ax.set_xticks(range(n))
    ax.set_xticklabels(labels, rotation=45, ha="right")
    ax.set_yticks(range(n))
    ax.set_yticklabels(labels)
    ax.set_xlabel("hypothesis")
    ax.set_ylabel("reference")
    size = 9 if n <= 6 else 7
    for i in range(n):
        for j in range(n):
            ax.text(j, i, f"{pct[i, j]:.1f}%\n({int(scores.confusion[i, j])})", ha="center", va="center",
                    fontsize=size, color="white" if pct[i, j] > 50 else "black")
    ax.set_title(default_title(scores) if title is None else title, fontsize=10)
    fig.tight_layout()
    return fig


def plot_confusion(scores: Scores, path: PathLike, *, title: Optional[str] = None) -> Path:
    """Write the confusion matrix of ``scores`` as a PNG at ``path`` (atomically)."""
    path = Path(path)
    fig = confusion_figure(scores, title)
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, format="png")
    return path


def confusion_image(scores: Scores, *, title: Optional[str] = None) -> np.ndarray:
    """The picture as an ``H x W x 3`` uint8 array (``writer.add_image(tag, img, step, dataformats='HWC')``)."""
    fig = confusion_figure(scores, title)
    fig.canvas.draw()
    return np.asarray(fig.canvas.buffer_rgba())[..., :3].copy()

"""TensorBoard scalars (loss, UA, WA, lr, throughput) and the dev confusion matrix as an image."""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Dict

import numpy as np

from serkit.score.metrics import Scores

logger = logging.getLogger(__name__)


class TrainingWriter:
    def __init__(self, exp_dir) -> None:
        from torch.utils.tensorboard import SummaryWriter

        self.writer = SummaryWriter(str(Path(exp_dir) / "tensorboard"))

    def epoch(self, row: Dict[str, float]) -> None:
        step = int(row["epoch"])
        for key, tag in (
            ("train_loss", "loss/train"), ("dev_loss", "loss/dev"), ("dev_ua", "dev/UA"), ("dev_wa", "dev/WA"),
            ("lr", "lr"), ("utts_per_second", "speed/utts_per_second"),
        ):
            value = row.get(key)
            if value is not None and not np.isnan(value):
                self.writer.add_scalar(tag, value, step)
        self.writer.flush()

    def confusion(self, scores: Scores, epoch: int) -> None:
        from serkit.score.plot import confusion_image

        image = confusion_image(scores, title=f"dev, epoch {epoch}: UA {100 * scores.ua:.1f}%, WA {100 * scores.wa:.1f}%")
        self.writer.add_image("dev/confusion", image, epoch, dataformats="HWC")

    def close(self) -> None:
        self.writer.close()

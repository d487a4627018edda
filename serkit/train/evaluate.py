"""Posteriors, decisions and loss of a model over examples, batched by length."""
from __future__ import annotations

from dataclasses import dataclass
from typing import List, Sequence

import numpy as np
import torch
from torch import nn

from serkit.loader.examples import Example
from serkit.loader.pipeline import eval_batches
from serkit.models import run_model


@dataclass
class EvalResult:
    loss: float
    refs: List[int]
    hyps: List[int]
    posteriors: np.ndarray
    utts: List[str]


@torch.no_grad()
def evaluate(model: nn.Module, examples: Sequence[Example], batch_size: int, device, criterion=None) -> EvalResult:
    model.eval()
    losses, refs, hyps, posts, utts = [], [], [], [], []
    for batch in eval_batches(examples, batch_size):
        batch = batch.to(device)
        logits = run_model(model, batch.feats, batch.lengths, batch.tokens, batch.token_lengths).float()
        if criterion is not None and bool((batch.labels >= 0).all()):
            losses.append(criterion(logits, batch.labels).item() * len(batch.utts))
        posts.append(torch.softmax(logits, dim=-1).cpu().numpy())
        refs += batch.labels.tolist()
        hyps += logits.argmax(-1).tolist()
        utts += batch.utts
    loss = sum(losses) / len(utts) if losses else float("nan")
    return EvalResult(loss, refs, hyps, np.concatenate(posts), utts)

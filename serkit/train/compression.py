"""Model compression during training: magnitude pruning with fine-tuning, and knowledge
distillation from a trained teacher (``train.prune`` and ``train.distill`` in the YAML)."""
from __future__ import annotations

from pathlib import Path
from typing import Dict

import torch
from torch import nn
from torch.nn.utils import prune

from serkit.errors import ConfigError
from serkit.train.config import DistillConfig


def prunable(model: nn.Module):
    """(module, parameter name) of every weight matrix/kernel that pruning may thin out."""
    for module in model.modules():
        if isinstance(module, (nn.Conv1d, nn.Conv2d, nn.Linear)):
            yield module, "weight"
        elif isinstance(module, (nn.LSTM, nn.GRU)):
            for name, _ in module.named_parameters():
                if name.startswith("weight_"):
                    yield module, name


def magnitude_masks(model: nn.Module, sparsity: float) -> Dict[str, torch.Tensor]:
    """Masks (parameter name -> 0/1 tensor) from torch.nn.utils.prune's global L1 criterion."""
    params = list(prunable(model))
    channels_last = {}
    for module, name in params:  # prune flattens with view(), which channels-last kernels refuse
        weight = getattr(module, name)
        if weight.dim() == 4 and not weight.is_contiguous():
            channels_last[(id(module), name)] = True
            weight.data = weight.data.contiguous()
    prune.global_unstructured(params, pruning_method=prune.L1Unstructured, amount=sparsity)
    names = {id(m): n for n, m in model.named_modules()}
    masks = {}
    for module, name in params:
        masks[f"{names[id(module)]}.{name}".lstrip(".")] = getattr(module, f"{name}_mask").detach().clone()
        prune.remove(module, name)  # keep plain parameters; the masks are re-applied after each step
        if (id(module), name) in channels_last:
            weight = getattr(module, name)
            weight.data = weight.data.contiguous(memory_format=torch.channels_last)
    return masks


@torch.no_grad()
def apply_masks(model: nn.Module, masks: Dict[str, torch.Tensor]) -> None:
    params = dict(model.named_parameters())
    for name, mask in masks.items():
        params[name].mul_(mask.to(params[name].device))


def sparsity_of(model: nn.Module) -> float:
    total = zeros = 0
    for module, name in prunable(model):
        w = getattr(module, name)
        total += w.numel()
        zeros += int((w == 0).sum())
    return zeros / max(total, 1)


def teacher_path(template: str, exp_dir) -> Path:
    path = Path(template.replace("{fold}", Path(exp_dir).name))
    if not path.is_file():
        raise ConfigError(f"distill.teacher '{path}' does not exist; train the teacher first (its config before this one)")
    return path


def kd_loss(student: torch.Tensor, teacher: torch.Tensor, hard: torch.Tensor, config: DistillConfig) -> torch.Tensor:
    t = config.temperature
    soft = nn.functional.kl_div(
        nn.functional.log_softmax(student / t, dim=-1), nn.functional.softmax(teacher / t, dim=-1), reduction="batchmean"
    )
    return config.alpha * t * t * soft + (1.0 - config.alpha) * hard

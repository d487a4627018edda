"""Model compression during training: magnitude pruning with fine-tuning, and knowledge
distillation from a trained teacher (``train.prune`` and ``train.distill`` in the YAML)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Dict

import torch
from torch import nn
from torch.nn.utils import prune

from serkit.errors import ConfigError


@dataclass
class PruneConfig:
    """Global magnitude pruning of conv, linear and recurrent weights, then fine-tuning with the
    pruned weights held at zero (start from a trained model with ``train.init_from``)."""

    sparsity: float = 0.0  # share of those weights set to zero; 0 disables

    def __post_init__(self) -> None:
        if not 0.0 <= self.sparsity < 1.0:
            raise ValueError("prune.sparsity must be in [0, 1)")


@dataclass
class DistillConfig:
    """Knowledge distillation: loss = alpha * T^2 * KL(teacher_T || student_T) + (1 - alpha) * CE.
    ``teacher`` may contain ``{fold}``, replaced by the experiment folder's name (fold3), so one
    config serves every fold."""

    teacher: str = ""
    temperature: float = 4.0
    alpha: float = 0.7

    def __post_init__(self) -> None:
        if self.temperature <= 0 or not 0.0 <= self.alpha <= 1.0:
            raise ValueError("distill.temperature must be > 0 and distill.alpha in [0, 1]")


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

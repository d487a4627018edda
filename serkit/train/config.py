"""``conf/train.yaml``: the single source of a training run's configuration.

Sections: ``model`` (``name`` plus that model's options), ``data``, ``optim``, ``scheduler``,
``train``. The resolved config (defaults filled in) is written into the experiment folder.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

from serkit.loader.config import DataConfig
from serkit.errors import ConfigError
from serkit.utils.config import Located, from_dict, load_yaml, split_override, to_dict


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


@dataclass
class ConsistencyConfig:
    """Clean-to-noisy consistency: loss += weight * T^2 * KL(p_clean_T || p_T), where p is the
    model's posterior on a training item and p_clean its posterior, in evaluation mode and without
    gradient, on the item's clean version: for a noisy copy (``utt2source`` of the training data,
    written by serkit.bin.fold_variants) its source utterance, cropped and masked alike; for an item
    mixed with noise or reverberated online (``data.noise``, ``data.reverb``), the item before
    mixing. A copy pulled towards what the model says of the clean speech learns what noise does
    not change. 0 disables."""

    weight: float = 0.0
    temperature: float = 1.0

    def __post_init__(self) -> None:
        if self.weight < 0 or self.temperature <= 0:
            raise ValueError("consistency.weight must be >= 0 and consistency.temperature > 0")


@dataclass
class OptimConfig:
    name: str = "adamw"  # adam | adamw
    lr: float = 1e-3
    weight_decay: float = 1e-4
    betas: List[float] = field(default_factory=lambda: [0.9, 0.999])
    grad_clip: float = 5.0  # max gradient norm; 0 disables

    def __post_init__(self) -> None:
        if self.name not in ("adam", "adamw"):
            raise ValueError(f"optim.name '{self.name}' is not adam or adamw")
        if self.lr <= 0:
            raise ValueError("optim.lr must be > 0")


@dataclass
class SchedulerConfig:
    """``plateau``: ReduceLROnPlateau on the dev loss (the design's choice); ``cosine``: cosine
    decay to ``min_lr`` over ``max_epochs`` (for runs without a dev set)."""

    name: str = "plateau"
    factor: float = 0.5
    patience: int = 3
    min_lr: float = 1e-5
    warmup_epochs: int = 0  # linear warm-up before the scheduler takes over

    def __post_init__(self) -> None:
        if self.name not in ("plateau", "cosine"):
            raise ValueError(f"scheduler.name '{self.name}' is not plateau or cosine")


@dataclass
class LoopConfig:
    max_epochs: int = 40
    early_stop_patience: int = 12  # epochs without a better dev UA; 0 disables
    label_smoothing: float = 0.1
    mixup_alpha: float = 0.0  # > 0: mixup of feature crops with Beta(alpha, alpha) weights
    seed: int = 777
    average_best: int = 5  # average the N best-on-dev checkpoints at the end (0/1: keep the best)
    ensemble: int = 1  # > 1: train N models with seeds seed, seed+1, ... and ship them as one (serkit.models.ensemble)
    keep_checkpoints: int = 0  # epoch checkpoints to keep besides the best ones (0 keeps all)
    amp: bool = True  # mixed precision (float16) when on a GPU
    cpu_amp: bool = False  # bfloat16 autocast on a CPU with native bfloat16 (AVX512-BF16, AMX); else float32
    num_threads: int = 0  # CPU threads per process; 0 = torch's default
    init_from: str = ""  # start from this checkpoint's weights ({fold}: the experiment folder's name)
    init_skip: List[str] = field(default_factory=list)  # parameters (name prefixes) not taken from it, e.g. [classifier]
    prune: PruneConfig = field(default_factory=PruneConfig)
    distill: DistillConfig = field(default_factory=DistillConfig)
    consistency: ConsistencyConfig = field(default_factory=ConsistencyConfig)

    def __post_init__(self) -> None:
        if self.max_epochs < 1:
            raise ValueError("train.max_epochs must be >= 1")
        if not 0 <= self.label_smoothing < 1:
            raise ValueError("train.label_smoothing must be in [0, 1)")
        if self.ensemble < 1:
            raise ValueError("train.ensemble must be >= 1 (the number of models, each with its own seed)")


@dataclass
class ModelSection:
    name: str = "parallel_crnn"
    options: Dict[str, Any] = field(default_factory=dict)


@dataclass
class TrainConfig:
    model: ModelSection = field(default_factory=ModelSection)
    data: DataConfig = field(default_factory=DataConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    scheduler: SchedulerConfig = field(default_factory=SchedulerConfig)
    train: LoopConfig = field(default_factory=LoopConfig)


def _model_section(raw: Any, where: str) -> Dict[str, Any]:
    if not isinstance(raw, dict) or "name" not in raw:
        raise ConfigError(f"{where}: 'model' must be a mapping with a 'name' (e.g. name: parallel_crnn)")
    options = {k: v for k, v in raw.items() if k != "name"}
    if isinstance(raw, Located):  # keep line numbers for the model's own option check
        located = Located(raw.source, raw.line)
        located.update(options)
        located.key_lines = {k: v for k, v in raw.key_lines.items() if k != "name"}
        options = located
    return {"name": raw["name"], "options": options}


def apply_override(data: Dict[str, Any], key: str, value: Any) -> None:
    node = data
    parts = key.split(".")
    for part in parts[:-1]:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise ConfigError(f"override '{key}': '{part}' is not a section")
    node[parts[-1]] = value


def load_train_config(path: Optional[str], overrides: Optional[List[str]] = None) -> TrainConfig:
    """Read ``conf/train.yaml`` (defaults when None) and apply ``key.sub=value`` overrides."""
    data = load_yaml(path) if path else Located("<defaults>")
    for text in overrides or []:
        key, value = split_override(text)
        apply_override(data, key, value)
    data = Located(data.source, data.line) if not isinstance(data, Located) else data
    if "model" in data:
        data["model"] = _model_section(data["model"], data.where("model"))
    return from_dict(TrainConfig, data)


# Keys a resumed run may change without saying so: they change how fast it runs, not what it learns.
RESUME_FREE_KEYS = ("train.num_threads",)


def _flatten(data: Any, prefix: str = "") -> Dict[str, Any]:
    if not isinstance(data, dict):
        return {prefix: data}
    out: Dict[str, Any] = {}
    for key, value in data.items():
        out.update(_flatten(value, f"{prefix}.{key}" if prefix else str(key)))
    return out


def config_differences(old: Dict[str, Any], new: Dict[str, Any]) -> List[Tuple[str, Any, Any]]:
    """``(dotted.key, old, new)`` for every setting that differs between two resolved configs
    (``to_dict`` of :class:`TrainConfig`), ignoring :data:`RESUME_FREE_KEYS`."""
    a, b = _flatten(old), _flatten(new)
    defaults = _flatten(to_dict(TrainConfig()))
    missing = object()
    keys = sorted(set(a) | set(b))
    # a setting added to serkit after the old run started, left at its default, is what the old run did
    added = {k for k in keys if k not in a and k in defaults and b.get(k, missing) == defaults[k]}
    return [(k, a.get(k, missing), b.get(k, missing)) for k in keys
            if k not in RESUME_FREE_KEYS and k not in added and a.get(k, missing) != b.get(k, missing)]

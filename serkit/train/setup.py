"""What a training run is built from, one function each: config checks, the tokenizer of a text
model, the optimizer, scheduler and class weights, the autocast context, weights to start from
and a distillation teacher. :class:`serkit.train.trainer.Trainer` calls them in ``setup()``."""
from __future__ import annotations

import copy
import json
import logging
import random
from contextlib import nullcontext
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from torch import nn

from serkit.loader.examples import Example
from serkit.loader.pipeline import tokenized
from serkit.errors import ConfigError, SerkitError
from serkit.models import model_from_checkpoint, uses_text
from serkit.text.tokenizer import Tokenizer, train_sentencepiece
from serkit.train.checkpoint import load_checkpoint
from serkit.train.compression import teacher_path
from serkit.train.config import TrainConfig

logger = logging.getLogger(__name__)


def set_seed(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def check_runs_without_dev(config: TrainConfig) -> None:
    """Without a dev set ReduceLROnPlateau has no loss to watch and early stopping no UA: both
    would silently do nothing. Refuse such a config and say what to set instead."""
    needs = []
    if config.scheduler.name == "plateau":
        needs.append("scheduler.name is plateau (it steps on the dev loss): set scheduler.name: cosine")
    if config.train.early_stop_patience:
        needs.append("train.early_stop_patience is "
                     f"{config.train.early_stop_patience} (it watches dev UA): set train.early_stop_patience: 0")
    if needs:
        raise ConfigError(
            "this run has no dev set, but " + "; ".join(needs) + ". Then training runs train.max_epochs epochs and "
            "final.pt averages the last train.average_best of them. Or give a dev set (--dev-data)."
        )


def check_feature_columns(config: TrainConfig, input_dim: int) -> None:
    """Columns appended to the spectrum (``model.prosody_dim``: logmel_prosody's descriptors) are
    not log power: frequency masks must stay off them, and feature-domain noise and reverberation,
    which treat every column as log power, cannot mix them."""
    prosody = int(config.model.options.get("prosody_dim", 0) or 0)
    if not prosody:
        return
    spectral, sa = input_dim - prosody, config.data.spec_augment
    if sa.enabled and sa.freq_masks and not 0 < sa.max_bin <= spectral:
        raise ConfigError(f"model.prosody_dim {prosody}: the last {prosody} of the {input_dim} feature columns are "
                          f"descriptors, not spectrum; set data.spec_augment.max_bin: {spectral} so frequency masks "
                          f"stay on the spectrum")
    for name in ("noise", "reverb"):
        if getattr(config.data, name).enabled:
            raise ConfigError(f"data.{name} mixes in the log-power domain, which the {prosody} descriptor columns "
                              f"(model.prosody_dim) are not in: set data.{name}.enabled: false, or augment the "
                              f"audio before feature extraction (utils/augment_data_dir.sh)")


def check_text_config(config: TrainConfig) -> None:
    name = config.model.name
    if uses_text(name) and not config.data.text.enabled:
        raise ConfigError(f"model '{name}' reads transcripts: set data.text.enabled: true in the training config")
    if uses_text(name) and config.train.mixup_alpha > 0:
        raise ConfigError(f"train.mixup_alpha mixes the audio of two utterances but not their words; "
                          f"model '{name}' reads the words: set train.mixup_alpha: 0")


def prepare_text(config: TrainConfig, train: Sequence[Example], dev: Optional[Sequence[Example]]
                 ) -> Tuple[Tokenizer, List[Example], Optional[List[Example]]]:
    """Sentencepiece trained on the training transcripts only; tokenized copies of the examples;
    a text-reading model's ``vocab_size`` set in ``config`` (the run's own copy)."""
    cfg = config.data.text
    tokenizer = Tokenizer.from_config(train_sentencepiece([ex.text for ex in train], cfg), cfg)
    train, no_text = tokenized(train, tokenizer)
    dev, dev_no_text = tokenized(dev, tokenizer) if dev else (dev, 0)
    logger.info("sentencepiece %s: %d pieces (data.text.vocab_size %d) from the training transcripts; "
                "utterances without text: %d train, %d dev", cfg.model_type, tokenizer.vocab_size,
                cfg.vocab_size, no_text, dev_no_text)
    if uses_text(config.model.name):
        given = config.model.options.get("vocab_size")
        if given not in (None, 0, tokenizer.vocab_size):
            raise ConfigError(f"model.vocab_size {given} differs from the sentencepiece model's "
                              f"{tokenizer.vocab_size} pieces; leave vocab_size out (the trainer sets it)")
        config.model.options["vocab_size"] = tokenizer.vocab_size
    return tokenizer, train, dev


def build_optimizer(config: TrainConfig, params) -> torch.optim.Optimizer:
    opt = config.optim
    cls = torch.optim.AdamW if opt.name == "adamw" else torch.optim.Adam
    return cls(params, lr=opt.lr, betas=tuple(opt.betas), weight_decay=opt.weight_decay)


def build_scheduler(config: TrainConfig, optimizer: torch.optim.Optimizer):
    sch = config.scheduler
    if sch.name == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(
            optimizer, T_max=max(1, config.train.max_epochs - sch.warmup_epochs), eta_min=sch.min_lr
        )
    return torch.optim.lr_scheduler.ReduceLROnPlateau(
        optimizer, mode="min", factor=sch.factor, patience=sch.patience, min_lr=sch.min_lr
    )


def class_weights(config: TrainConfig, train: Sequence[Example], num_classes: int, device) -> Optional[torch.Tensor]:
    """Inverse class frequencies for ``data.balance: loss``, else None."""
    if config.data.balance != "loss":
        return None
    counts = np.bincount([ex.label for ex in train], minlength=num_classes).astype(np.float64)
    weights = counts.sum() / (num_classes * np.maximum(counts, 1))
    return torch.tensor(weights, dtype=torch.float32, device=device)


def autocast_for(config: TrainConfig, device: torch.device) -> Callable[[], Any]:
    """The context of a training forward pass: float16 autocast on a GPU (train.amp), bfloat16
    on a CPU that computes it natively (train.cpu_amp), else plain float32."""
    if config.train.amp and device.type == "cuda":
        return lambda: torch.autocast("cuda", dtype=torch.float16)
    if config.train.cpu_amp and device.type == "cpu":
        native = getattr(torch.cpu, "_is_avx512_bf16_supported", lambda: False)() or \
            getattr(torch.cpu, "_is_amx_tile_supported", lambda: False)()
        if native:
            logger.info("train.cpu_amp: bfloat16 autocast on this CPU")
            return lambda: torch.autocast("cpu", dtype=torch.bfloat16)
        logger.warning("train.cpu_amp: this CPU has no native bfloat16 (AVX512-BF16 or AMX); training in float32")
    return nullcontext


def load_initial_weights(model: nn.Module, template: str, skip: Sequence[str], labels: Sequence[str],
                         exp_dir: Path) -> None:
    """Start from a trained checkpoint's weights (fine-tuning, pruning), leaving the parameters
    whose names start with one of ``skip`` (e.g. ``classifier``) at their fresh initialisation:
    a model pre-trained on other corpora has other labels, so its classifier cannot be reused."""
    path = teacher_path(template, exp_dir)
    state = load_checkpoint(path)
    if list(state["labels"]) != list(labels) and not any("classifier".startswith(p) for p in skip):
        raise SerkitError(
            f"train.init_from {template} was trained on labels {state['labels']}, this run has {list(labels)}: "
            f"set train.init_skip: [classifier] to start its classifier afresh"
        )
    changed = layout_changes(model, state)
    if changed:
        raise SerkitError(f"train.init_from {template}: its weights fit this model but were trained in another "
                          f"layout ({'; '.join(changed)}), so they would compute something else: give the model "
                          f"section the checkpoint's values")
    weights = {k: v for k, v in state["model"].items() if not any(k.startswith(p) for p in skip)}
    try:
        missing, unexpected = model.load_state_dict(weights, strict=False)
    except RuntimeError as err:
        raise SerkitError(f"train.init_from {template}: a different model ({str(err).splitlines()[0]})") from None
    if unexpected or any(not any(k.startswith(p) for p in skip) for k in missing):
        raise SerkitError(f"train.init_from {template}: a different model (missing {sorted(missing)[:3]}, "
                          f"unexpected {sorted(unexpected)[:3]})")
    fresh = sorted({k.split(".")[0] for k in missing})
    logger.info("weights from %s%s", path, f"; fresh: {', '.join(fresh)}" if fresh else "")


# Model options that change what the weights compute without changing their shapes
LAYOUT_OPTIONS = ("pools", "pool_first", "activation")


def layout_changes(model: nn.Module, state: Dict[str, Any]) -> List[str]:
    """The :data:`LAYOUT_OPTIONS` in which ``model`` differs from the checkpoint ``state`` of the
    same architecture (``option: checkpoint value -> this model's``)."""
    from serkit.models.registry import MODELS

    config = getattr(model, "config", None)
    if config is None or type(model) is not MODELS.get(state.get("model_name")):
        return []
    try:
        source = type(config)(**state.get("model_options", {}))
    except (TypeError, ValueError):
        return []
    plain = {k: (json.loads(json.dumps(getattr(source, k))), json.loads(json.dumps(getattr(config, k))))
             for k in LAYOUT_OPTIONS if hasattr(config, k)}  # tuples and lists alike
    return [f"{k}: {a} -> {b}" for k, (a, b) in plain.items() if a != b]


def load_teacher(template: str, labels: Sequence[str], exp_dir: Path, device) -> nn.Module:
    """The distillation teacher (``{fold}`` in the path: this experiment folder's name)."""
    state = load_checkpoint(teacher_path(template, exp_dir))
    if list(state["labels"]) != list(labels):
        raise SerkitError(f"distill.teacher {template} was trained on labels {state['labels']}, "
                          f"this run has {list(labels)}")
    return model_from_checkpoint(state).to(device).eval()


def copy_config(config: TrainConfig) -> TrainConfig:
    """The run's own copy: the trainer sets options (vocab_size) without touching the caller's."""
    return copy.deepcopy(config)


def new_rng_state() -> Dict[str, Any]:
    rng = {"torch": torch.get_rng_state(), "numpy": np.random.get_state(), "python": random.getstate()}
    if torch.cuda.is_available():
        rng["cuda"] = torch.cuda.get_rng_state_all()
    return rng


def restore_rng_state(rng: Dict[str, Any]) -> None:
    torch.set_rng_state(rng["torch"])
    np.random.set_state(rng["numpy"])
    random.setstate(rng["python"])
    if "cuda" in rng and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(rng["cuda"])

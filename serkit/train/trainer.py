"""The training loop: epochs over the batch pipeline, dev evaluation, ReduceLROnPlateau,
early stopping on dev UA, atomic per-epoch checkpoints, exact resume, TensorBoard.

With ``data.text.enabled`` the trainer first trains a sentencepiece model on the training set's
transcripts, writes it to ``<exp>/spm.model``, keeps its bytes in every checkpoint
(``spm_model``) and tokenizes the training and dev examples; text-reading models get its
vocabulary size as their ``vocab_size`` option."""
from __future__ import annotations

import json
import logging
import math
import random
import time
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

import numpy as np
import torch
from torch import nn

from serkit.dataset.examples import Example
from serkit.dataset.pipeline import eval_batches, tokenize_examples, train_batches
from serkit.errors import ConfigError, SerkitError
from serkit.models import build_model, model_from_checkpoint, run_model, uses_text
from serkit.score.metrics import compute_scores
from serkit.train.checkpoint import average_checkpoints, epoch_checkpoints, load_checkpoint, save_checkpoint
from serkit.train.compression import apply_masks, kd_loss, magnitude_masks, sparsity_of, teacher_path
from serkit.train.config import TrainConfig
from serkit.train.distributed import DistContext
from serkit.text.tokenizer import Tokenizer, train_sentencepiece
from serkit.utils.atomic import atomic_write_bytes
from serkit.utils.config import to_dict
from serkit.utils.progress import progress

logger = logging.getLogger(__name__)


@dataclass
class EvalResult:
    loss: float
    refs: List[int]
    hyps: List[int]
    posteriors: np.ndarray
    utts: List[str]


@dataclass
class History:
    epochs: List[Dict[str, float]] = field(default_factory=list)
    best_epoch: int = 0
    best_ua: float = -1.0
    best_loss: float = math.inf

    def ranked(self) -> List[Dict[str, float]]:
        """Epochs from best to worst on dev (UA, then lower loss)."""
        return sorted(self.epochs, key=lambda e: (-e["dev_ua"], e["dev_loss"]))


def set_seed(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


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


class Trainer:
    def __init__(
        self, config: TrainConfig, exp_dir, train: Sequence[Example], dev: Optional[Sequence[Example]],
        labels: Sequence[str], ctx: DistContext, noise_bank: Sequence[np.ndarray] = (),
        metadata: Optional[Dict[str, Any]] = None,
    ) -> None:
        self.config, self.exp_dir, self.ctx = config, Path(exp_dir), ctx
        if not dev:
            check_runs_without_dev(config)
        self.train_set, self.dev_set, self.labels = train, dev, list(labels)
        self.noise_bank = noise_bank
        self.metadata = dict(metadata or {})  # stored in every checkpoint (features, global CMVN stats)
        self.input_dim = int(train[0].feats.shape[1])
        self.tokenizer: Optional[Tokenizer] = None
        self._init_text()
        set_seed(config.train.seed)
        model = build_model(config.model.name, config.model.options, self.input_dim, len(labels))
        if ctx.enabled and ctx.device.type == "cuda":
            model = nn.SyncBatchNorm.convert_sync_batchnorm(model)
        self.model = model.to(ctx.device)
        self.masks: Dict[str, torch.Tensor] = {}
        self.teacher: Optional[nn.Module] = None
        self._init_compression()
        self.net = (
            nn.parallel.DistributedDataParallel(self.model, device_ids=[ctx.device] if ctx.device.type == "cuda" else None)
            if ctx.enabled else self.model
        )
        opt = config.optim
        cls = torch.optim.AdamW if opt.name == "adamw" else torch.optim.Adam
        self.optimizer = cls(self.model.parameters(), lr=opt.lr, betas=tuple(opt.betas), weight_decay=opt.weight_decay)
        sch = config.scheduler
        if sch.name == "cosine":
            self.scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(
                self.optimizer, T_max=max(1, config.train.max_epochs - sch.warmup_epochs), eta_min=sch.min_lr
            )
        else:
            self.scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
                self.optimizer, mode="min", factor=sch.factor, patience=sch.patience, min_lr=sch.min_lr
            )
        self.criterion = nn.CrossEntropyLoss(weight=self._class_weights(), label_smoothing=config.train.label_smoothing)
        self.eval_criterion = nn.CrossEntropyLoss()
        self.use_amp = config.train.amp and ctx.device.type == "cuda"
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.use_amp)
        self.autocast = self._autocast()
        self.history = History()
        self.start_epoch = 1
        self.writer = None

    def _autocast(self):
        """The context of a training forward pass: float16 autocast on a GPU (train.amp), bfloat16
        on a CPU that computes it natively (train.cpu_amp), else plain float32."""
        if self.use_amp:
            return lambda: torch.autocast("cuda", dtype=torch.float16)
        if self.config.train.cpu_amp and self.ctx.device.type == "cpu":
            native = getattr(torch.cpu, "_is_avx512_bf16_supported", lambda: False)() or \
                getattr(torch.cpu, "_is_amx_tile_supported", lambda: False)()
            if native:
                logger.info("train.cpu_amp: bfloat16 autocast on this CPU")
                return lambda: torch.autocast("cpu", dtype=torch.bfloat16)
            logger.warning("train.cpu_amp: this CPU has no native bfloat16 (AVX512-BF16 or AMX); training in float32")
        return nullcontext

    def _init_text(self) -> None:
        """Sentencepiece on the training transcripts; tokenized train/dev; the model's vocab_size."""
        cfg, name = self.config.data.text, self.config.model.name
        if uses_text(name) and not cfg.enabled:
            raise ConfigError(f"model '{name}' reads transcripts: set data.text.enabled: true in the training config")
        if uses_text(name) and self.config.train.mixup_alpha > 0:
            raise ConfigError(f"train.mixup_alpha mixes the audio of two utterances but not their words; "
                              f"model '{name}' reads the words: set train.mixup_alpha: 0")
        if not cfg.enabled:
            return
        model = train_sentencepiece([ex.text for ex in self.train_set], cfg)
        self.tokenizer = Tokenizer.from_config(model, cfg)
        self.metadata["spm_model"] = model
        if self.ctx.is_main:
            atomic_write_bytes(self.exp_dir / "spm.model", model)
        no_text = tokenize_examples(self.train_set, self.tokenizer)
        dev_no_text = tokenize_examples(self.dev_set, self.tokenizer) if self.dev_set else 0
        logger.info("sentencepiece %s: %d pieces (data.text.vocab_size %d) from the training transcripts; "
                    "utterances without text: %d train, %d dev", cfg.model_type, self.tokenizer.vocab_size,
                    cfg.vocab_size, no_text, dev_no_text)
        if uses_text(name):
            given = self.config.model.options.get("vocab_size")
            if given not in (None, 0, self.tokenizer.vocab_size):
                raise ConfigError(f"model.vocab_size {given} differs from the sentencepiece model's "
                                  f"{self.tokenizer.vocab_size} pieces; leave vocab_size out (the trainer sets it)")
            self.config.model.options["vocab_size"] = self.tokenizer.vocab_size

    def _checkpoint_for(self, template: str, what: str) -> Dict[str, Any]:
        state = load_checkpoint(teacher_path(template, self.exp_dir))
        if list(state["labels"]) != self.labels:
            raise SerkitError(f"{what} {template} was trained on labels {state['labels']}, this run has {self.labels}")
        return state

    def _init_weights(self, template: str, skip: Sequence[str]) -> None:
        """Start from a trained checkpoint's weights (fine-tuning, pruning), leaving the parameters
        whose names start with one of ``skip`` (e.g. ``classifier``) at their fresh initialisation:
        a model pre-trained on other corpora has other labels, so its classifier cannot be reused."""
        path = teacher_path(template, self.exp_dir)
        state = load_checkpoint(path)
        if list(state["labels"]) != self.labels and not any("classifier".startswith(p) for p in skip):
            raise SerkitError(
                f"train.init_from {template} was trained on labels {state['labels']}, this run has {self.labels}: "
                f"set train.init_skip: [classifier] to start its classifier afresh"
            )
        weights = {k: v for k, v in state["model"].items() if not any(k.startswith(p) for p in skip)}
        try:
            missing, unexpected = self.model.load_state_dict(weights, strict=False)
        except RuntimeError as err:
            raise SerkitError(f"train.init_from {template}: a different model ({str(err).splitlines()[0]})") from None
        fresh = sorted({k.split(".")[0] for k in missing})
        if unexpected or any(not any(k.startswith(p) for p in skip) for k in missing):
            raise SerkitError(f"train.init_from {template}: a different model (missing {sorted(missing)[:3]}, "
                              f"unexpected {sorted(unexpected)[:3]})")
        logger.info("weights from %s%s", path, f"; fresh: {', '.join(fresh)}" if fresh else "")

    def _init_compression(self) -> None:
        """``train.init_from`` weights, pruning masks, the distillation teacher."""
        cfg = self.config.train
        if cfg.init_from:
            self._init_weights(cfg.init_from, cfg.init_skip)
        if cfg.prune.sparsity > 0:
            self.masks = magnitude_masks(self.model, cfg.prune.sparsity)
            apply_masks(self.model, self.masks)
        if cfg.distill.teacher:
            state = self._checkpoint_for(cfg.distill.teacher, "distill.teacher")
            self.teacher = model_from_checkpoint(state).to(self.ctx.device).eval()

    def _class_weights(self) -> Optional[torch.Tensor]:
        if self.config.data.balance != "loss":
            return None
        counts = np.bincount([ex.label for ex in self.train_set], minlength=len(self.labels)).astype(np.float64)
        weights = counts.sum() / (len(self.labels) * np.maximum(counts, 1))
        return torch.tensor(weights, dtype=torch.float32, device=self.ctx.device)

    # ---- checkpoints -------------------------------------------------------------------------
    def state(self, epoch: int) -> Dict[str, Any]:
        rng = {"torch": torch.get_rng_state(), "numpy": np.random.get_state(), "python": random.getstate()}
        if torch.cuda.is_available():
            rng["cuda"] = torch.cuda.get_rng_state_all()
        return {
            "model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(), "scaler": self.scaler.state_dict(), "epoch": epoch,
            "rng": rng, "history": to_dict(self.history), "config": to_dict(self.config),
            "model_name": self.config.model.name, "model_options": dict(self.config.model.options),
            "labels": self.labels, "input_dim": self.input_dim, **self.metadata,
            **({"prune_masks": self.masks, "sparsity": sparsity_of(self.model)} if self.masks else {}),
        }

    def resume(self, state: Dict[str, Any]) -> None:
        """Continue exactly where ``state`` stopped: weights, optimizer, scheduler, RNG, epoch."""
        stored = state.get("spm_model")
        if self.tokenizer is not None and stored is not None and bytes(stored) != self.tokenizer.model_bytes:
            raise SerkitError("the checkpoint's sentencepiece model differs from the one trained now on the training "
                              "transcripts (did the text table change?); train into a new experiment folder")
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.scaler.load_state_dict(state["scaler"])
        self.history = History(**state["history"])
        if "prune_masks" in state:
            self.masks = state["prune_masks"]
        rng = state["rng"]
        torch.set_rng_state(rng["torch"])
        np.random.set_state(rng["numpy"])
        random.setstate(rng["python"])
        if "cuda" in rng and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(rng["cuda"])
        self.start_epoch = int(state["epoch"]) + 1
        logger.info("resuming after epoch %d (best dev UA %.4f at epoch %d)", state["epoch"], self.history.best_ua, self.history.best_epoch)

    # ---- one epoch ---------------------------------------------------------------------------
    def _lr_warmup(self, epoch: int) -> None:
        warm = self.config.scheduler.warmup_epochs
        if warm and epoch <= warm:
            for group in self.optimizer.param_groups:
                group["lr"] = self.config.optim.lr * epoch / warm

    def _loss(self, batch, rng: np.random.Generator) -> torch.Tensor:
        """Cross-entropy (label smoothing, class weights); with mixup, of a mix of the batch with
        a shuffled copy of itself, weighted like the mix."""
        alpha = self.config.train.mixup_alpha
        feats, lengths = batch.feats, batch.lengths
        if alpha > 0 and len(batch.utts) > 1:
            lam = float(rng.beta(alpha, alpha))
            perm = torch.from_numpy(rng.permutation(len(batch.utts))).to(feats.device)
            feats = lam * feats + (1 - lam) * feats[perm]
            lengths = torch.maximum(lengths, lengths[perm])
        logits = run_model(self.net, feats, lengths, batch.tokens, batch.token_lengths).float()
        if alpha > 0 and len(batch.utts) > 1:
            loss = lam * self.criterion(logits, batch.labels) + (1 - lam) * self.criterion(logits, batch.labels[perm])
        else:
            loss = self.criterion(logits, batch.labels)
        if self.teacher is not None:  # the teacher sees exactly what the student sees
            with torch.no_grad():
                teacher_logits = run_model(self.teacher, feats, lengths, batch.tokens, batch.token_lengths).float()
            loss = kd_loss(logits, teacher_logits, loss, self.config.train.distill)
        return loss

    def train_epoch(self, epoch: int) -> Dict[str, float]:
        self.net.train()
        self._lr_warmup(epoch)
        batches = train_batches(
            self.train_set, self.config.data, self.config.train.seed, epoch, self.ctx.rank, self.ctx.world, self.noise_bank
        )
        total_loss, total_utts, total_frames = 0.0, 0, 0
        start = time.perf_counter()
        bar = progress(batches, f"epoch {epoch}", unit="batch", disable=not self.ctx.is_main, leave=False)
        mix_rng = np.random.default_rng([self.config.train.seed, epoch, 104729])
        for batch in bar:
            batch = batch.to(self.ctx.device)
            with self.autocast():
                loss = self._loss(batch, mix_rng)
            self.optimizer.zero_grad(set_to_none=True)
            self.scaler.scale(loss).backward()
            if self.config.optim.grad_clip > 0:
                self.scaler.unscale_(self.optimizer)
                nn.utils.clip_grad_norm_(self.model.parameters(), self.config.optim.grad_clip)
            self.scaler.step(self.optimizer)
            self.scaler.update()
            if self.masks:
                apply_masks(self.model, self.masks)  # pruned weights stay zero
            n = len(batch.utts)
            total_loss += loss.item() * n
            total_utts += n
            total_frames += int(batch.lengths.sum())
            elapsed = time.perf_counter() - start
            bar.set_postfix(loss=f"{total_loss / total_utts:.3f}", utt_s=f"{total_utts / elapsed:.0f}", refresh=False)
        elapsed = time.perf_counter() - start
        return {
            "train_loss": total_loss / max(total_utts, 1), "epoch_seconds": elapsed,
            "utts_per_second": total_utts * self.ctx.world / elapsed, "frames_per_second": total_frames * self.ctx.world / elapsed,
        }

    # ---- the whole run -----------------------------------------------------------------------
    def validate(self, epoch: int) -> Dict[str, float]:
        if not self.dev_set:
            return {"dev_loss": float("nan"), "dev_ua": float("nan"), "dev_wa": float("nan")}
        result = evaluate(self.model, self.dev_set, self.config.data.eval_batch_size, self.ctx.device, self.eval_criterion)
        scores = compute_scores(
            [self.labels[i] for i in result.refs], [self.labels[i] for i in result.hyps], self.labels
        )
        if self.writer is not None and scores.ua > self.history.best_ua:  # an image costs ~0.4 s: new bests only
            self.writer.confusion(scores, epoch)
        return {"dev_loss": result.loss, "dev_ua": scores.ua, "dev_wa": scores.wa}

    def _is_better(self, row: Dict[str, float]) -> bool:
        h = self.history
        if math.isnan(row["dev_ua"]):  # no dev set: the latest epoch is the best we know
            return True
        return row["dev_ua"] > h.best_ua or (row["dev_ua"] == h.best_ua and row["dev_loss"] < h.best_loss)

    def fit(self) -> History:
        cfg = self.config.train
        if self.ctx.is_main:
            from serkit.train.reporting import TrainingWriter

            self.writer = TrainingWriter(self.exp_dir)
        stale = 0 if not self.history.epochs else self.history.epochs[-1]["epoch"] - self.history.best_epoch
        for epoch in range(self.start_epoch, cfg.max_epochs + 1):
            row = {"epoch": epoch, **self.train_epoch(epoch), **self.validate(epoch)}
            row["lr"] = self.optimizer.param_groups[0]["lr"]
            if epoch > self.config.scheduler.warmup_epochs:
                if self.config.scheduler.name == "cosine":
                    self.scheduler.step()
                elif not math.isnan(row["dev_loss"]):
                    self.scheduler.step(row["dev_loss"])
            self.history.epochs.append(row)
            better = self._is_better(row)
            if better:
                self.history.best_epoch, self.history.best_ua, self.history.best_loss = epoch, row["dev_ua"], row["dev_loss"]
                stale = 0
            else:
                stale += 1
            if self.ctx.is_main:
                save_checkpoint(self.state(epoch), self.exp_dir / f"epoch_{epoch}.pt")
                if better:
                    save_checkpoint(self.state(epoch), self.exp_dir / "best.pt")
                self._prune_checkpoints()
                self.writer.epoch(row)
                logger.info(
                    "epoch %d: train loss %.4f, dev loss %.4f, dev UA %.4f, WA %.4f, lr %.2e, %.1f s (%.0f utt/s)%s",
                    epoch, row["train_loss"], row["dev_loss"], row["dev_ua"], row["dev_wa"], row["lr"],
                    row["epoch_seconds"], row["utts_per_second"], " *" if better else "",
                )
            if cfg.early_stop_patience and stale >= cfg.early_stop_patience:
                logger.info("early stop: no better dev UA for %d epochs", stale)
                break
        if self.ctx.is_main:
            self.finish()
        return self.history

    def _prune_checkpoints(self) -> None:
        keep_n = self.config.train.keep_checkpoints
        if not keep_n:
            return
        protected = {r["epoch"] for r in self.history.ranked()[: max(self.config.train.average_best, 1)]}
        files = epoch_checkpoints(self.exp_dir)
        for path in files[:-keep_n]:
            if int(path.stem.split("_")[1]) not in protected:
                path.unlink()

    def finish(self) -> None:
        """``final.pt``: the average of the N best-on-dev epochs (or the best one)."""
        n = max(self.config.train.average_best, 1)
        ranked = [r["epoch"] for r in self.history.ranked()] if self.dev_set else [r["epoch"] for r in self.history.epochs[::-1]]
        paths = [self.exp_dir / f"epoch_{e}.pt" for e in ranked[:n]]
        paths = [p for p in paths if p.exists()]
        final = average_checkpoints(paths)
        save_checkpoint(final, self.exp_dir / "final.pt")
        summary = {
            "best_epoch": self.history.best_epoch, "best_dev_ua": self.history.best_ua,
            "averaged_epochs": [int(p.stem.split("_")[1]) for p in paths],
            "epochs_run": len(self.history.epochs),
            "train_seconds": sum(r["epoch_seconds"] for r in self.history.epochs),
        }
        (self.exp_dir / "train_summary.json").write_text(json.dumps(summary, indent=2) + "\n")
        (self.exp_dir / "history.json").write_text(json.dumps(to_dict(self.history), indent=2) + "\n")
        self.writer.close()
        logger.info("wrote %s (average of epochs %s)", self.exp_dir / "final.pt", summary["averaged_epochs"])

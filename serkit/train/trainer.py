"""The training loop: epochs over the batch pipeline, dev evaluation, ReduceLROnPlateau,
early stopping on dev UA, atomic per-epoch checkpoints, exact resume, TensorBoard.

A :class:`Trainer` is made in three visible steps: construction keeps its own copy of the config
and checks it (no I/O, nothing of the caller's is changed); :meth:`Trainer.setup` builds what the
run is made of in memory (serkit.train.setup: the sentencepiece model of a text model, trained on
the training transcripts, the model, optimizer, scheduler, losses, weights to start from); and
:meth:`Trainer.fit` writes: ``spm.model`` (text models; its bytes are also in every checkpoint,
``spm_model``), the epoch checkpoints, ``best.pt``, ``final.pt`` and the logs. :meth:`resume`
(after setup) restores a checkpoint's state before ``fit``.
"""
from __future__ import annotations

import json
import logging
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

import numpy as np
import torch
from torch import nn

from serkit.loader.examples import Example
from serkit.loader.pipeline import clean_partners, train_batches
from serkit.errors import SerkitError
from serkit.models import build_model, run_model
from serkit.score.metrics import compute_scores
from serkit.text.tokenizer import Tokenizer
from serkit.train import setup as build
from serkit.train.checkpoint import average_checkpoints, epoch_checkpoints, save_checkpoint
from serkit.train.compression import apply_masks, kd_loss, magnitude_masks, sparsity_of
from serkit.train.consistency import consistency_loss
from serkit.train.config import TrainConfig
from serkit.train.distributed import DistContext
from serkit.train.evaluate import evaluate
from serkit.utils.atomic import atomic_write_bytes
from serkit.utils.config import to_dict
from serkit.utils.progress import progress

logger = logging.getLogger(__name__)


@dataclass
class History:
    epochs: List[Dict[str, float]] = field(default_factory=list)
    best_epoch: int = 0
    best_ua: float = -1.0
    best_loss: float = math.inf

    def ranked(self) -> List[Dict[str, float]]:
        """Epochs from best to worst on dev (UA, then lower loss)."""
        return sorted(self.epochs, key=lambda e: (-e["dev_ua"], e["dev_loss"]))


class Trainer:
    def __init__(
        self, config: TrainConfig, exp_dir, train: Sequence[Example], dev: Optional[Sequence[Example]],
        labels: Sequence[str], ctx: DistContext, noise_bank: Sequence[np.ndarray] = (),
        metadata: Optional[Dict[str, Any]] = None,
    ) -> None:
        self.config = build.copy_config(config)
        if not dev:
            build.check_runs_without_dev(self.config)
        build.check_text_config(self.config)
        self.exp_dir, self.ctx = Path(exp_dir), ctx
        self.train_set, self.dev_set, self.labels = list(train), (list(dev) if dev else dev), list(labels)
        self.noise_bank = noise_bank
        self.metadata = dict(metadata or {})  # stored in every checkpoint (features, global CMVN stats)
        self.input_dim = int(self.train_set[0].feats.shape[1])
        build.check_feature_columns(self.config, self.input_dim)
        self.tokenizer: Optional[Tokenizer] = None
        self.masks: Dict[str, torch.Tensor] = {}
        self.teacher: Optional[nn.Module] = None
        self.partners: Optional[List[int]] = None  # each training example's clean version (train.consistency)
        self.history = History()
        self.start_epoch = 1
        self.writer = None
        self.ready = False

    def setup(self) -> "Trainer":
        """Build the run in memory, once: tokenizer and tokenized examples (text), model, starting
        weights, pruning masks, teacher, optimizer, scheduler, losses, autocast."""
        if self.ready:
            return self
        cfg, ctx = self.config, self.ctx
        if cfg.data.text.enabled:
            self.tokenizer, self.train_set, self.dev_set = build.prepare_text(cfg, self.train_set, self.dev_set)
            self.metadata["spm_model"] = self.tokenizer.model_bytes
        build.set_seed(cfg.train.seed)
        model = build_model(cfg.model.name, cfg.model.options, self.input_dim, len(self.labels))
        if ctx.enabled and ctx.device.type == "cuda":
            model = nn.SyncBatchNorm.convert_sync_batchnorm(model)
        self.model = model.to(ctx.device)
        if cfg.train.init_from:
            build.load_initial_weights(self.model, cfg.train.init_from, cfg.train.init_skip, self.labels, self.exp_dir)
        if cfg.train.prune.sparsity > 0:
            self.masks = magnitude_masks(self.model, cfg.train.prune.sparsity)
            apply_masks(self.model, self.masks)
        if cfg.train.distill.teacher:
            self.teacher = build.load_teacher(cfg.train.distill.teacher, self.labels, self.exp_dir, ctx.device)
        self.net = (
            nn.parallel.DistributedDataParallel(self.model, device_ids=[ctx.device] if ctx.device.type == "cuda" else None)
            if ctx.enabled else self.model
        )
        if cfg.train.consistency.weight > 0:
            self.partners, paired = clean_partners(self.train_set)
            online = cfg.data.noise.enabled or cfg.data.reverb.enabled
            logger.info("consistency: %d of %d training utterances are noisy copies paired with their source; "
                        "the rest are their own clean version%s", paired, len(self.train_set),
                        " (before online noise or reverberation)" if online else "")
            if not paired and not online:
                logger.warning("train.consistency is on, but no training utterance has a clean source (no utt2source "
                               "in the training data: make noisy copies with a recipe's --noise-aug) and there is no "
                               "online noise or reverberation: the term only compares each item with itself")
        self.optimizer = build.build_optimizer(cfg, self.model.parameters())
        self.scheduler = build.build_scheduler(cfg, self.optimizer)
        weights = build.class_weights(cfg, self.train_set, len(self.labels), ctx.device)
        self.criterion = nn.CrossEntropyLoss(weight=weights, label_smoothing=cfg.train.label_smoothing)
        self.eval_criterion = nn.CrossEntropyLoss()
        self.use_amp = cfg.train.amp and ctx.device.type == "cuda"
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.use_amp)
        self.autocast = build.autocast_for(cfg, ctx.device)
        self.ready = True
        return self

# ---- checkpoints -------------------------------------------------------------------------
    def state(self, epoch: int) -> Dict[str, Any]:
        rng = build.new_rng_state()
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
        self.setup()
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
        build.restore_rng_state(state["rng"])
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
        feats, lengths, clean = batch.feats, batch.lengths, batch.clean
        if alpha > 0 and len(batch.utts) > 1:
            lam = float(rng.beta(alpha, alpha))
            perm = torch.from_numpy(rng.permutation(len(batch.utts))).to(feats.device)
            feats = lam * feats + (1 - lam) * feats[perm]
            clean = lam * clean + (1 - lam) * clean[perm] if clean is not None else None
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
        if clean is not None:  # what the model says of the clean version, without dropout or gradient
            training = self.model.training
            self.model.eval()
            with torch.no_grad():
                clean_logits = run_model(self.model, clean, lengths, batch.tokens, batch.token_lengths).float()
            self.model.train(training)
            loss = loss + consistency_loss(logits, clean_logits, self.config.train.consistency)
        return loss

    def train_epoch(self, epoch: int) -> Dict[str, float]:
        self.net.train()
        self._lr_warmup(epoch)
        batches = train_batches(
            self.train_set, self.config.data, self.config.train.seed, epoch, self.ctx.rank, self.ctx.world, self.noise_bank,
            self.partners,
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
        self.setup()
        cfg = self.config.train
        if self.ctx.is_main:
            from serkit.train.reporting import TrainingWriter

            if self.tokenizer is not None:
                atomic_write_bytes(self.exp_dir / "spm.model", self.tokenizer.model_bytes)
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
                state = self.state(epoch)
                save_checkpoint(state, self.exp_dir / f"epoch_{epoch}.pt")
                if better:
                    save_checkpoint(state, self.exp_dir / "best.pt")
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

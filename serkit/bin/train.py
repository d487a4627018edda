"""Train an emotion classifier on a data directory with features.

    python -m serkit.bin.train --config conf/train.yaml --train-data data/train \\
        --dev-data data/dev --exp-dir exp/parallel_crnn [--checkpoint exp/.../epoch_7.pt | --resume]

Multi-process: ``torchrun --nproc_per_node N -m serkit.bin.train ...`` (gloo on CPU, nccl on GPU).
The experiment folder gets config.yaml (resolved), labels.txt, epoch_<n>.pt, best.pt, final.pt
(average of the best epochs), history.json and tensorboard/; with ``train.ensemble: N`` one such
folder per member (member<i>/, seed + i - 1) and final.pt holding all N as one model; with data.text.enabled also
spm.model, the sentencepiece model trained on the training set's ``text`` (its bytes are in
every checkpoint too).
"""
from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import List

import torch
import yaml

from serkit.data.datadir import DataDir
from serkit.data.labels import non_canonical_labels, rare_classes
from serkit.data.table import read_label_list, write_label_list
from serkit.loader.config import CORPUS_BALANCE
from serkit.loader.examples import (
    LOG_POWER_FEATURES, feats_type, labels_of, load_examples, load_noise_bank, raw_feature_stats,
)
from serkit.errors import ConfigError, SerkitError
from serkit.train.checkpoint import epoch_checkpoints, load_checkpoint
from serkit.train.config import config_differences, load_train_config
from serkit.train.distributed import cleanup, init_distributed
from serkit.train.ensemble import member_config, member_dirs, write_ensemble
from serkit.train.setup import check_runs_without_dev
from serkit.train.trainer import Trainer
from serkit.utils import cli
from serkit.utils.config import dump_yaml, to_dict

logger = logging.getLogger("serkit.train")


def _metadata(train_dir: str, train) -> dict:
    """What a deployment needs besides the weights: how the features were made, and the global
    statistics of the raw training features (CMVN for a speaker whose own stats are unknown)."""
    meta = {"global_cmvn": raw_feature_stats(train), "feats_type": feats_type(train_dir),
            "train_data": str(Path(train_dir).resolve()), "num_train_utts": len(train)}
    conf = Path(train_dir) / "feats_config.yaml"
    if conf.is_file():
        meta["feats_config"] = yaml.safe_load(conf.read_text())
    return meta


def _check_resumed_config(state: dict, config, checkpoint: str, allowed: bool, exp: Path, is_main: bool) -> None:
    """Refuse to continue a run under settings it did not start with, unless the user says so."""
    diffs = config_differences(state.get("config", {}), to_dict(config))
    if not diffs:
        return
    shown = "; ".join(f"{key}: {old!r} -> {new!r}" for key, old, new in diffs[:8])
    more = f" (and {len(diffs) - 8} more)" if len(diffs) > 8 else ""
    if not allowed:
        raise SerkitError(
            f"{checkpoint} was trained with another config: {shown}{more}. Resuming would mix the two; train into "
            f"a new --exp-dir, restore the old settings, or pass --allow-config-change if the change is meant"
        )
    logger.warning("resuming %s with a changed config (--allow-config-change): %s%s", checkpoint, shown, more)
    if is_main and (exp / "config.yaml").is_file():
        kept = exp / f"config.upto_epoch{int(state['epoch'])}.yaml"
        (exp / "config.yaml").replace(kept)
        logger.warning("the config of epochs 1-%d is kept as %s", int(state["epoch"]), kept)


def _load_data(args, config, ctx):
    """(labels, train examples, dev examples or None, noise bank, metadata), loaded once."""
    labels = read_label_list(args.labels, minimum=2) if args.labels else labels_of(args.train_data)
    if ctx.is_main:
        utt2emo = DataDir(args.train_data).table("utt2emo")
        for warning in non_canonical_labels(utt2emo, utt2emo.where) + rare_classes(utt2emo, utt2emo.where):
            logger.warning(warning)
    show, text = ctx.is_main, config.data.text.enabled
    train = load_examples(args.train_data, labels, cmvn=config.data.cmvn, norm_vars=config.data.norm_vars,
                          show_progress=show, text=text)
    dev = (
        load_examples(args.dev_data, labels, cmvn=config.data.cmvn, norm_vars=config.data.norm_vars,
                      show_progress=show, text=text)
        if args.dev_data else None
    )
    if config.data.balance in CORPUS_BALANCE and not all(ex.corpus for ex in train):
        raise ConfigError(f"data.balance: {config.data.balance} samples by corpus, but {args.train_data} has no utt2corpus "
                          f"for every utterance; pool the corpora with serkit.bin.pool_corpora (it writes utt2corpus)")
    bank = load_noise_bank(config.data.noise.data, feats_type(args.train_data)) if config.data.noise.enabled else ()
    if config.data.reverb.enabled and feats_type(args.train_data) not in LOG_POWER_FEATURES:
        raise ConfigError(f"data.reverb works on log-power features ({', '.join(LOG_POWER_FEATURES)}); "
                          f"{args.train_data} has {feats_type(args.train_data)!r}")
    return labels, train, dev, bank, _metadata(args.train_data, train)


def _fit(args, config, exp: Path, ctx, data, checkpoint) -> None:
    """Train one model into ``exp`` (resuming from ``checkpoint``, or the latest epoch with --resume)."""
    labels, train, dev, bank, metadata = data
    trainer = Trainer(config, exp, train, dev, labels, ctx, bank, metadata).setup()
    if args.resume and not checkpoint:
        found = epoch_checkpoints(exp)
        checkpoint = str(found[-1]) if found else None
        if checkpoint is None:
            logger.info("--resume: no epoch checkpoint in %s, starting from scratch", exp)
    if checkpoint:
        state = load_checkpoint(checkpoint)
        if list(state["labels"]) != list(labels):
            raise SerkitError(f"{checkpoint} was trained on labels {state['labels']}, this run has {labels}")
        _check_resumed_config(state, trainer.config, checkpoint, args.allow_config_change, exp, ctx.is_main)
        trainer.resume(state)
    if ctx.is_main:
        dump_yaml(config, exp / "config.yaml")
        write_label_list(exp / "labels.txt", labels)
        n_params = sum(p.numel() for p in trainer.model.parameters())
        logger.info(
            "%s: %d parameters; %d train / %d dev utterances; %d classes; device %s x %d",
            config.model.name, n_params, len(train), len(dev or []), len(labels), ctx.device, ctx.world,
        )
    history = trainer.fit()
    if ctx.is_main:
        print(f"train: best dev UA {history.best_ua:.4f} at epoch {history.best_epoch}; model: {exp / 'final.pt'}")


def main(argv: List[str]) -> int:
    p = cli.parser(__doc__)
    p.add_argument("--config", help="training YAML (conf/train.yaml)")
    p.add_argument("--train-data", required=True, help="data directory with feats.scp, utt2emo (and cmvn.scp)")
    p.add_argument("--dev-data", help="dev data directory (early stopping, LR schedule, checkpoint selection)")
    p.add_argument("--exp-dir", required=True)
    p.add_argument("--labels", help="label list (one per line); default: the training set's labels, sorted")
    p.add_argument("--override", action="append", default=[], metavar="KEY=VALUE", help="e.g. optim.lr=0.0005")
    p.add_argument("--checkpoint", help="resume from this epoch checkpoint")
    p.add_argument("--resume", action="store_true",
                   help="resume from the latest epoch checkpoint in --exp-dir; do nothing if final.pt exists")
    p.add_argument("--allow-config-change", action="store_true",
                   help="resume even though the config differs from the checkpoint's (the keys are logged)")
    p.add_argument("--cpu", action="store_true", help="train on CPU even when a GPU is present")
    args = p.parse_args(argv)
    cli.setup_logging(args.verbose)
    config = load_train_config(args.config, args.override)
    for d in filter(None, (args.train_data, args.dev_data)):
        if (Path(d) / "HELD_OUT").is_file():
            raise SerkitError(
                f"{d} is marked HELD_OUT ({(Path(d) / 'HELD_OUT').read_text().strip()}): it was made with the "
                f"held-out test noise and must not be used for training or model selection"
            )
    if not args.dev_data:  # fail before loading any data
        try:
            check_runs_without_dev(config)
        except ConfigError as err:
            raise ConfigError(f"{args.config or 'the default config'}: {err}") from None
    if args.resume and not args.checkpoint and (Path(args.exp_dir) / "final.pt").exists():
        print(f"train: {args.exp_dir}/final.pt exists; training is complete (delete it to train again)")
        return 0
    ctx = init_distributed(use_gpu=not args.cpu)
    try:
        threads = config.train.num_threads or max(1, (os.cpu_count() or 1) // ctx.world)
        torch.set_num_threads(threads)
        exp = Path(args.exp_dir)
        exp.mkdir(parents=True, exist_ok=True)
        data = _load_data(args, config, ctx)
        n = config.train.ensemble
        if n == 1:
            _fit(args, config, exp, ctx, data, args.checkpoint)
            return 0
        if args.checkpoint:
            raise SerkitError("--checkpoint names one model's epoch; an ensemble (train.ensemble > 1) resumes its "
                              "members with --resume")
        for i, member in enumerate(member_dirs(exp, n)):
            if args.resume and (member / "final.pt").exists():
                logger.info("ensemble member %d of %d: %s/final.pt exists", i + 1, n, member)
                continue
            logger.info("ensemble member %d of %d (seed %d) in %s", i + 1, n, config.train.seed + i, member)
            member.mkdir(parents=True, exist_ok=True)
            _fit(args, member_config(config, i), member, ctx, data, None)
        if ctx.is_main:
            dump_yaml(config, exp / "config.yaml")
            write_label_list(exp / "labels.txt", data[0])
            print(f"train: ensemble of {n} models ({', '.join(f'member{i + 1}' for i in range(n))}): {write_ensemble(exp, n)}")
    finally:
        cleanup(ctx)
    return 0


if __name__ == "__main__":
    cli.run(main, prog="train")

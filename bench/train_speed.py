#!/usr/bin/env python3
"""Training cost of configs on one fold: epoch time, utterances/s and achieved FLOP/s beside the
machine's matmul rate (one thread, as the recipes run their fold jobs).

    OMP_NUM_THREADS=1 tools/venv/bin/python bench/train_speed.py --fold egs/emodb/data/folds/fold1 \\
        --configs egs/emodb/conf/tuning/t1_stats_mixup.yaml egs/emodb/conf/train.yaml [--epochs 4] \\
        [--update bench/RESULTS.md]

Each config trains ``--epochs`` epochs on the fold's train set with its dev set evaluated after
every epoch, as ``serkit.bin.train`` does; the first epoch is left out of the figures (one-off
costs). FLOPs of a training step (forward and backward) are counted by torch's FlopCounterMode on
a batch of ``batch_size`` crops of ``max_frames`` frames; achieved FLOP/s = those FLOPs per
utterance x utterances per second. The matmul rate is a 1024^3 matmul on one thread, in float32
(and bfloat16 for configs with ``train.cpu_amp``).
"""
import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SECTION = "training-cost"


def matmul_rate(dtype) -> float:
    import torch

    a, b = torch.randn(1024, 1024, dtype=dtype), torch.randn(1024, 1024, dtype=dtype)
    for _ in range(3):
        a @ b
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        for _ in range(10):
            a @ b
        best = min(best, time.perf_counter() - start)
    return 2.0 * 1024 ** 3 * 10 / best


def step_flops_per_utt(config, input_dim: int, classes: int) -> float:
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from serkit.models import build_model

    model = build_model(config.model.name, config.model.options, input_dim, classes)
    b, t = config.data.batch_size, config.data.max_frames or 300
    x, lengths = torch.randn(b, t, input_dim), torch.full((b,), t)
    with FlopCounterMode(display=False) as counter:
        torch.nn.functional.cross_entropy(model(x, lengths), torch.zeros(b, dtype=torch.long)).backward()
    return counter.get_total_flops() / b


def measure(config_path: str, fold: Path, epochs: int):
    import torch

    from serkit.loader.examples import labels_of, load_examples
    from serkit.train.config import load_train_config
    from serkit.train.distributed import DistContext
    from serkit.train.trainer import Trainer

    config = load_train_config(config_path, [f"train.max_epochs={epochs}", "train.early_stop_patience=0",
                                             "train.num_threads=1"])
    torch.set_num_threads(1)
    labels = labels_of(fold / "train")
    train = load_examples(fold / "train", labels, show_progress=False)
    dev = load_examples(fold / "dev", labels, show_progress=False)
    with tempfile.TemporaryDirectory() as tmp:
        trainer = Trainer(config, tmp, train, dev, labels, DistContext())
        walls = []
        original = trainer.train_epoch

        def timed(epoch):  # wall time of an epoch: training, dev evaluation, checkpoints
            walls.append(time.perf_counter())
            return original(epoch)

        trainer.train_epoch = timed
        history = trainer.fit()
        walls.append(time.perf_counter())
    rows = history.epochs[1:]
    epoch_wall = statistics.median(b - a for a, b in zip(walls[1:], walls[2:]))
    return {
        "config": config, "train_s": statistics.median(r["epoch_seconds"] for r in rows), "epoch_s": epoch_wall,
        "utt_s": statistics.median(r["utts_per_second"] for r in rows), "n_train": len(train), "n_dev": len(dev),
        "flops_utt": step_flops_per_utt(config, int(train[0].feats.shape[1]), len(labels)),
    }


def render(results, fold: Path, epochs: int, rates, command: str) -> str:
    import torch

    out = ["## Training cost (issue 13)\n",
           f"Command ({time.strftime('%Y-%m-%d')}, one thread, nothing else running; torch {torch.__version__}):\n",
           f"```bash\n{command}\n```\n",
           f"{fold}: {results[0]['n_train']} training and {results[0]['n_dev']} dev utterances; {epochs} epochs per "
           f"config, median of epochs 2-{epochs}. Epoch: training plus dev evaluation and checkpoints. Matmul rate on "
           f"one thread: {rates['fp32'] / 1e9:.0f} GFLOP/s float32, {rates['bf16'] / 1e9:.0f} GFLOP/s bfloat16.\n",
           "| config | epoch (s) | training (s) | utt/s | GFLOP per utt (train step) | achieved GFLOP/s | "
           "of the matmul rate | epoch vs first row |",
           "|---|---:|---:|---:|---:|---:|---:|---:|"]
    base = results[0]["epoch_s"]
    for r in results:
        bf16 = r["config"].train.cpu_amp
        achieved = r["flops_utt"] * r["utt_s"]
        rate = rates["bf16" if bf16 else "fp32"]
        out.append(f"| `{r['name']}`{' (bf16)' if bf16 else ''} | {r['epoch_s']:.2f} | {r['train_s']:.2f} | "
                   f"{r['utt_s']:.0f} | {r['flops_utt'] / 1e9:.2f} | {achieved / 1e9:.1f} | {100 * achieved / rate:.0f}% | "
                   f"{base / r['epoch_s']:.2f}x |")
    return "\n".join(out) + "\n"


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--fold", required=True, help="a fold folder with train/ and dev/ (features, CMVN)")
    p.add_argument("--configs", nargs="+", required=True)
    p.add_argument("--epochs", type=int, default=4)
    p.add_argument("--update", help="put the table into this Markdown file's 'training-cost' section")
    args = p.parse_args()
    import torch

    torch.set_num_threads(1)
    rates = {"fp32": matmul_rate(torch.float32), "bf16": matmul_rate(torch.bfloat16)}
    results = []
    for path in args.configs:
        r = measure(path, Path(args.fold), args.epochs)
        r["name"] = path
        results.append(r)
        print(f"{path}: epoch {r['epoch_s']:.2f} s, {r['utt_s']:.0f} utt/s", file=sys.stderr, flush=True)
    command = "OMP_NUM_THREADS=1 tools/venv/bin/python bench/train_speed.py " + " ".join(
        [f"--fold {args.fold}", "--configs " + " ".join(args.configs), f"--epochs {args.epochs}"]
        + ([f"--update {args.update}"] if args.update else []))
    text = render(results, Path(args.fold), args.epochs, rates, command)
    print(text)
    if args.update:
        from serkit.utils.md_sections import update_file

        update_file(args.update, SECTION, text)


if __name__ == "__main__":
    main()

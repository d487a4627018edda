"""Parameters and forward FLOPs per second of audio of the model a training config describes.

    python -m serkit.bin.model_info --config conf/train.yaml --input-dim 128 --num-classes 7 [--json out.json]
    python -m serkit.bin.model_info --matmul    # this machine's fp32 matmul FLOP/s

Text-reading models are built with data.text.vocab_size pieces (training may give fewer) and
costed with a transcript of 4 pieces per second of audio.
"""
from __future__ import annotations

import json
from typing import List

from serkit.utils import cli


def main(argv: List[str]) -> int:
    p = cli.parser(__doc__)
    p.add_argument("--config", help="training YAML")
    p.add_argument("--input-dim", type=int, default=128)
    p.add_argument("--num-classes", type=int, default=7)
    p.add_argument("--matmul", action="store_true", help="measure fp32 matmul FLOP/s (1 and all threads)")
    p.add_argument("--json", help="also write the figures here")
    args = p.parse_args(argv)
    import torch

    from serkit.models import build_model, uses_text
    from serkit.models.profile import matmul_flops, model_summary
    from serkit.train.config import load_train_config

    out = {}
    if args.matmul:
        out["matmul_gflops_1_thread"] = matmul_flops(threads=1) / 1e9
        out[f"matmul_gflops_{torch.get_num_threads()}_threads"] = matmul_flops() / 1e9
    if args.config:
        config = load_train_config(args.config)
        options = config.model.options  # keeps the YAML line numbers for option errors
        if uses_text(config.model.name) and not options.get("vocab_size"):
            options["vocab_size"] = config.data.text.vocab_size  # the most pieces training can give it
        n = config.train.ensemble
        if n > 1:  # what gets shipped: all members in one model
            model = build_model("ensemble", {"member": config.model.name, "member_options": dict(options), "members": n},
                                args.input_dim, args.num_classes)
        else:
            model = build_model(config.model.name, options, args.input_dim, args.num_classes)
        name = f"{config.model.name} x {n} (seed ensemble)" if n > 1 else config.model.name
        out.update({"model": name, **model_summary(model, args.input_dim)})
        if n > 1:
            out["ensemble_members"] = n  # trained one at a time: a training step costs 1/n of the FLOPs
    text = json.dumps(out, indent=2)
    if args.json:
        with open(args.json, "w") as f:
            f.write(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    cli.run(main, prog="model_info")

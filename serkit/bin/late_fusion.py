"""Late fusion of two models' posteriors (audio and text, or any two), the weight tuned on dev UA or fixed.

    python -m serkit.bin.late_fusion --dev-ref data/dev/utt2emo \\
        --audio-dev exp/train/fold1/decode_dev --text-dev exp/train_text/fold1/decode_dev \\
        --audio-test exp/train/fold1/decode_test --text-test exp/train_text/fold1/decode_test \\
        [--test-ref data/test/utt2emo] [--rule linear|loglinear] [--grid-step 0.05] \\
        --out-dir exp/late_fusion/fold1

Each input is a serkit.bin.predict output folder (posteriors.scp, labels.txt). ``linear``
(default): ``w * p_audio + (1 - w) * p_text``; ``loglinear``: ``p_audio^w * p_text^(1-w)``,
renormalised. ``w`` is the grid point with the best dev UA (ties: lower dev cross-entropy, then
nearer 0.5). Writes <out-dir>/decode_test and decode_dev (utt2pred, posteriors.ark/scp,
labels.txt: score them like any model's decode folder) and <out-dir>/late_fusion.json (rule,
weight, the dev grid, dev and test UA/WA of audio, text and fused; test scores need --test-ref).

With ``--weight W`` the weight is fixed and no dev input is needed: the recipes fuse each neural
model with the openSMILE SVM this way (``--first-test``/``--second-test`` name the inputs of two
models of any kind; the SVM is refitted on train+dev, so it has no held-out dev posteriors to tune on).
"""
from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import List

import numpy as np

from serkit.data.table import write_label_list
from serkit.data.table import write_table
from serkit.feats.ark import AtomicArkWriter
from serkit.score import late_fusion as lf
from serkit.utils import cli
from serkit.utils.atomic import atomic_write_text

logger = logging.getLogger("serkit.late_fusion")


def write_decode(post: lf.Posteriors, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    write_table(out / "utt2pred", {u: post.labels[int(i)] for u, i in zip(post.utts, post.probs.argmax(axis=1))})
    with AtomicArkWriter(out / "posteriors.ark", out / "posteriors.scp") as writer:
        for utt, row in sorted(zip(post.utts, post.probs)):
            writer.write(utt, np.asarray(row, dtype=np.float32))
    write_label_list(out / "labels.txt", post.labels)


def main(argv: List[str]) -> int:
    p = cli.parser(__doc__)
    p.add_argument("--audio-dev", "--first-dev", help="decode folder of the audio (first) model on dev")
    p.add_argument("--text-dev", "--second-dev", help="decode folder of the text (second) model on dev")
    p.add_argument("--audio-test", "--first-test", required=True)
    p.add_argument("--text-test", "--second-test", required=True)
    p.add_argument("--dev-ref", help="utt2emo of the dev set (tunes the weight)")
    p.add_argument("--weight", type=float, help="a fixed weight of the first model in [0, 1] instead of tuning on dev")
    p.add_argument("--test-ref", help="utt2emo of the test set (only to report test scores in the JSON)")
    p.add_argument("--rule", choices=lf.RULES, default="linear")
    p.add_argument("--grid-step", type=float, default=0.05)
    p.add_argument("--out-dir", required=True)
    args = p.parse_args(argv)
    cli.setup_logging(args.verbose)
    if args.weight is None and not (args.audio_dev and args.text_dev and args.dev_ref):
        p.error("give --audio-dev, --text-dev and --dev-ref to tune the weight, or a fixed --weight")
    if args.weight is not None and not 0.0 <= args.weight <= 1.0:
        p.error(f"--weight must be in [0, 1], got {args.weight}")
    inputs = {"test": (lf.read_posteriors(args.audio_test), lf.read_posteriors(args.text_test),
                       lf.read_reference(args.test_ref) if args.test_ref else None)}
    weight, rows = args.weight, []
    if weight is None:
        inputs["dev"] = (lf.read_posteriors(args.audio_dev), lf.read_posteriors(args.text_dev), lf.read_reference(args.dev_ref))
        weight, rows = lf.tune_weight(*inputs["dev"], args.rule, args.grid_step)
    out = Path(args.out_dir)
    report = {"rule": args.rule, "weight_audio": weight, "weight_text": round(1.0 - weight, 6),
              "grid_step": args.grid_step, "dev_grid": rows,
              "inputs": {"audio_dev": args.audio_dev, "text_dev": args.text_dev,
                         "audio_test": args.audio_test, "text_test": args.text_test}}
    for name, (audio, text, ref) in inputs.items():
        fused = lf.fused_posteriors(audio, text, weight, args.rule)
        write_decode(fused, out / f"decode_{name}")
        if ref is not None:
            report[name] = {"audio": lf.scores_of(audio, ref), "text": lf.scores_of(lf.aligned(audio, text), ref),
                            "fused": lf.scores_of(fused, ref)}
    atomic_write_text(out / "late_fusion.json", json.dumps(report, indent=2) + "\n")
    line = f"late_fusion ({args.rule}): w_audio = {weight:.2f}" + (
        f"; dev UA {100 * report['dev']['fused']['ua']:.2f}" if "dev" in report else " (fixed)")
    if "test" in report:
        line += f", test UA {100 * report['test']['fused']['ua']:.2f} (audio {100 * report['test']['audio']['ua']:.2f}, " \
                f"text {100 * report['test']['text']['ua']:.2f})"
    print(f"{line}; wrote {out}/decode_test and {out / 'late_fusion.json'}")
    return 0


if __name__ == "__main__":
    cli.run(main, prog="late_fusion")

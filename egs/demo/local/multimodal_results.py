#!/usr/bin/env python3
"""Write RESULTS_multimodal.md: audio only, text only, late, early and intermediate fusion.

    python local/multimodal_results.py --exp exp --audio train --text train_text --late late_fusion \\
        --early train_early_fusion --intermediate train_intermediate_fusion \\
        --commands exp/late_fusion/commands.sh --command "local/run_multimodal.sh ..." --out RESULTS_multimodal.md

Reads each experiment's results/summary.json (test, aggregated over folds by
serkit.bin.aggregate_scores) and results_dev/summary.json (dev), the late-fusion weights from
<late>/fold*/late_fusion.json and the parameter counts from fold1/final.pt.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional


def _json(path: Path) -> Dict:
    if not path.is_file():
        sys.exit(f"multimodal_results.py: error: {path} is missing; run local/run_multimodal.sh's scoring stage first")
    return json.loads(path.read_text())


def _parameters(exp: Path, tag: str) -> Optional[int]:
    ckpt = exp / tag / "fold1" / "final.pt"
    if not ckpt.is_file():
        return None
    import torch

    state = torch.load(ckpt, map_location="cpu", weights_only=False)
    return int(sum(v.numel() for k, v in state["model"].items() if "running_" not in k and "num_batches" not in k))


def _cell(summary: Dict, metric: str) -> str:
    sd = summary["std"].get(metric)
    return f"{100 * summary['mean'][metric]:.1f}" + (f" ± {100 * sd:.1f}" if sd is not None else "")


def main(argv: Optional[List[str]] = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    for name in ("audio", "text", "late", "early", "intermediate"):
        p.add_argument(f"--{name}", required=True, help=f"experiment tag of the {name} system under --exp")
    p.add_argument("--exp", default="exp")
    p.add_argument("--title", default="Demo corpus: audio, text and their fusion")
    p.add_argument("--commands", help="file with the commands the run executed (appended to the results)")
    p.add_argument("--command", default="", help="the command that produced the results")
    p.add_argument("--main-results", default="RESULTS.md", help="the main recipe's results (for its command)")
    p.add_argument("--out", default="RESULTS_multimodal.md")
    args = p.parse_args(argv)
    exp = Path(args.exp)
    systems = [
        ("audio only", args.audio, "parallel CRNN on log-mel (the main recipe's model)"),
        ("text only", args.text, "sentencepiece + BiLSTM + attention pooling"),
        ("late fusion", args.late, "posteriors: w * audio + (1 - w) * text, w tuned on dev UA"),
        ("early fusion", args.early, "text vector joined to every frame at the BiLSTM input"),
        ("intermediate fusion", args.intermediate, "text states steer the pooling of the BiLSTM frames (cross-attention)"),
    ]
    rows, ua = [], {}
    for name, tag, how in systems:
        test = _json(exp / tag / "results" / "summary.json")
        dev_path = exp / tag / "results_dev" / "summary.json"
        dev = _json(dev_path) if dev_path.is_file() else None
        params = _parameters(exp, tag)
        if tag == args.late:
            params = (_parameters(exp, args.audio) or 0) + (_parameters(exp, args.text) or 0)
        ua[name] = test["mean"]["ua"]
        wall = exp / tag / "train_wall_seconds"
        minutes = f"{float(wall.read_text()) / 60:.1f} min" if wall.is_file() and tag != args.late else "n/a"
        rows.append(
            f"| {name} | {how} | {params:,} | {_cell(test, 'ua')} | {_cell(test, 'wa')} | "
            f"{_cell(test, 'macro_f1')} | {_cell(dev, 'ua') if dev else 'n/a'} | {minutes} |"
        )
    weights = []
    for f in sorted((exp / args.late).glob("fold*/late_fusion.json")):
        info = json.loads(f.read_text())
        weights.append(f"{f.parent.name}: w_audio = {info['weight_audio']:.2f} ({info['rule']})")
    audio_summary = _json(exp / args.audio / "results" / "summary.json")
    num_folds, num_test = len(audio_summary["folds"]), audio_summary["pooled"]["num_utts"]
    single = max(ua["audio only"], ua["text only"])
    fusions = {k: v for k, v in ua.items() if k.endswith("fusion")}
    top = max(fusions.values())
    winners = [k for k, v in fusions.items() if abs(v - top) < 1e-9]
    out = [f"# {args.title}", ""]
    out.append(f"Measured {time.strftime('%Y-%m-%d')} on {os.cpu_count()} CPU cores ({platform.machine()}); "
               f"speaker-independent test set{'s' if num_folds > 1 else ''} ({num_folds} fold{'s' if num_folds > 1 else ''}), "
               f"models selected on dev. UA, WA, macro-F1 in % (mean ± sample std over folds when more than one).")
    out += ["", "| system | how | parameters | UA | WA | macro-F1 | dev UA | training wall time |",
            "|---|---|---:|---:|---:|---:|---:|---:|"]
    out += rows
    out += ["", f"Late fusion weights (linear rule unless noted): {'; '.join(weights)}.", ""]
    out.append(f"Best on test UA: **{' and '.join(winners)}**{' (tied)' if len(winners) > 1 else ''}, UA {100 * top:.1f}: "
               f"{100 * (top - ua['audio only']):+.1f} points over audio only and {100 * (top - ua['text only']):+.1f} "
               f"over text only. Fusions above the better single modality ({100 * single:.1f}): "
               + (", ".join(f"{k} ({100 * (v - single):+.1f})" for k, v in fusions.items() if v > single) or "none")
               + f". With {num_test} test utterances one utterance is {100 / num_test:.2f} points of WA, so "
               f"differences of a few points between the fusions are within noise.")
    out += ["", "Parameters of late fusion: the audio and the text model together. Training wall time: all folds "
            "of one config (the audio model's from the main recipe's stage 4).", ""]
    try:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        import transcripts

        labels = json.loads((exp / args.audio / "results" / "summary.json").read_text())["pooled"]["labels"]
        out += [f"The transcripts carry the emotion only in part (local/transcripts.py: per slot word "
                f"{100 * transcripts.CONGRUENT:.0f} % congruent, {100 * transcripts.MISLEADING:.0f} % misleading, "
                f"the rest fillers; {100 * transcripts.NEUTRAL_SENTENCE:.0f} % of the sentences all fillers): the best "
                f"possible decision from the words alone is right for "
                f"{100 * transcripts.bayes_text_accuracy(len(labels)):.1f} % of the utterances.", ""]
    except ImportError:  # a recipe without the demo's transcript model
        pass
    main_command = "./run.sh"
    main_results = Path(args.main_results)
    if main_results.is_file() and "```bash\n" in main_results.read_text():
        main_command = main_results.read_text().split("```bash\n", 1)[1].split("\n", 1)[0].strip() or main_command
    out += ["## Commands", "", "```bash", f"# the main recipe first (corpus, features, folds, the audio model exp/{args.audio})",
            main_command, args.command or "local/run_multimodal.sh", "```", ""]
    if args.commands and Path(args.commands).is_file():
        out += ["What it ran (`run.pl` runs each line for JOB=1..N, one per fold):", "", "```bash",
                Path(args.commands).read_text().rstrip(), "```", ""]
    Path(args.out).write_text("\n".join(out) + "\n")
    print(f"multimodal_results.py: wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

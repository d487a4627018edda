"""Write a recipe's RESULTS.md from its experiment folders (the last stage of egs/TEMPLATE/ser.sh).

    python -m serkit.bin.write_results --exp exp --folds-dir data/folds --protocol loso \\
        --command "./run.sh ..." --out RESULTS.md conf/train.yaml conf/train_crnn.yaml ...

One layout for every recipe: protocol, a summary table (UA, WA, macro-F1 as mean +/- std over
folds and pooled, model size and cost, training time), then the first config's per-fold table
and pooled confusion matrix, then the training cost against this machine's matmul rate. Named sections of the old file
(``<!-- section: NAME -->``, put there by benchmark scripts) are carried over.
"""
from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path
from typing import Dict, List, Optional

from serkit.errors import SerkitError
from serkit.utils import cli, md_sections

PROTOCOLS = {
    "loso": "speaker-independent, leave-one-speaker-out",
    "leave-n-out": "speaker-independent, leave-N-speakers-out",
    "file": "speaker-independent folds from a fold file",
    "none": "fixed train/dev/test split (speaker-independent)",
}


def _json(path: Path) -> Dict:
    if not path.is_file():
        raise SerkitError(f"{path} is missing; run the recipe's training and scoring stages first")
    return json.loads(path.read_text())


def _pm(summary: Dict, metric: str) -> str:
    sd = summary["std"].get(metric)
    return f"{100 * summary['mean'][metric]:.1f} ± {100 * sd:.1f}" if sd is not None else f"{100 * summary['mean'][metric]:.1f}"


def _experiment(exp: Path, tag: str) -> Dict:
    folds = sorted((p for p in (exp / tag).glob("fold*") if p.is_dir()), key=lambda p: int(p.name[4:]))
    trained = all((f / "history.json").is_file() for f in folds)  # the baseline has no epochs
    histories = [_json(f / "history.json") for f in folds] if trained else []
    epochs = [row for h in histories for row in h["epochs"]]
    wall = exp / tag / "train_wall_seconds"
    return {
        "tag": tag,
        "summary": _json(exp / tag / "results" / "summary.json"),
        "info": _json(exp / tag / "model_info.json"),
        "train": [_json(f / "train_summary.json") for f in folds] if trained else [],
        "epochs": epochs,
        "wall": float(wall.read_text()) if wall.is_file() else None,
        "markdown": (exp / tag / "results" / "summary.md").read_text(),
        "robust": {
            int(p.name[len("results_snr"):]): _json(p / "summary.json")
            for p in (exp / tag).glob("results_snr*") if (p / "summary.json").is_file()
        },
        "reverb": {
            float(p.name[len("results_rt"):]): _json(p / "summary.json")
            for p in (exp / tag).glob("results_rt*") if (p / "summary.json").is_file()
        },
    }


def _robust_rows(runs: List[Dict]) -> List[str]:
    """UA on the noisy test sets (held-out noise) and the reverberated ones, next to clean speech."""
    snrs = sorted({snr for r in runs for snr in r["robust"]}, reverse=True)
    rt60s = sorted({rt for r in runs for rt in r["reverb"]})
    if not snrs and not rt60s:
        return []
    rows = ["## Robustness: UA on noisy and reverberated test sets", "",
            "Test speech mixed with noise recordings held out from training (data/noise/test), and reverberated "
            "with simulated room impulse responses of the given RT60; mean ± std over folds.", "",
            "| config | clean | " + " | ".join([f"{snr} dB" for snr in snrs] + [f"RT60 {rt:g} s" for rt in rt60s]) + " |",
            "|---|---:|" + "---:|" * (len(snrs) + len(rt60s))]
    for r in runs:
        if not r["robust"] and not r["reverb"]:
            continue
        cells = [_pm(r["robust"][snr], "ua") if snr in r["robust"] else "n/a" for snr in snrs]
        cells += [_pm(r["reverb"][rt], "ua") if rt in r["reverb"] else "n/a" for rt in rt60s]
        rows.append(f"| {r['tag']} | {_pm(r['summary'], 'ua')} | " + " | ".join(cells) + " |")
    return rows + [""]


def _deployment_rows(exp: Path, runs: List[Dict]) -> List[str]:
    """Size, speed and UA of the exported models (stage 7): fp32 and INT8 ONNX per config."""
    rows = []
    for r in runs:
        summary = exp / r["tag"] / "fold1" / "export" / "export_summary.json"
        if not summary.is_file():
            continue
        files = json.loads(summary.read_text())
        for name, ua_summary in (("model.onnx", r["summary"]), ("model_int8.onnx", None)):
            if name not in files:
                continue
            if ua_summary is None:
                int8 = exp / f"{r['tag']}_int8" / "results" / "summary.json"
                ua_summary = _json(int8) if int8.is_file() else None
            info = files[name]
            lat = info.get("latency_s_per_audio_s_1thread")
            rows.append(
                f"| {r['tag']} | {name} | {info['size_bytes'] / 1024:.0f} | {info['gzip_bytes'] / 1024:.0f} | "
                f"{info['parameters']:,} | {info['nonzero_parameters']:,} | "
                f"{'n/a' if lat is None else f'{1000 * lat:.1f}'} | {_pm(ua_summary, 'ua') if ua_summary else 'n/a'} |"
            )
    if not rows:
        return []
    return ["## Deployment: size, speed and accuracy of the exported models", "",
            "ONNX files of fold 1's model (every fold's model has the same size); latency: onnxruntime, one thread, "
            "milliseconds per second of audio on a 3 s input; UA: mean ± std over the folds, each fold's exported "
            "model scored from the audio with serkit-infer (per-speaker CMVN as in training).", "",
            "| config | file | size (KB) | gzip (KB) | parameters | non-zero | ms per s of audio | UA |",
            "|---|---|---:|---:|---:|---:|---:|---:|", *rows, ""]


def _cost_rows(runs: List[Dict], matmul: Optional[float]) -> List[str]:
    rows = ["| config | epochs run (mean) | epoch time (s, mean) | training utt/s | achieved GFLOP/s (fwd+bwd) |"
            + (" matmul GFLOP/s (1 thread) |" if matmul else ""), "|---|---:|---:|---:|---:|" + ("---:|" if matmul else "")]
    for r in runs:
        ep = r["epochs"]
        if not ep:
            continue
        secs = sum(e["epoch_seconds"] for e in ep) / len(ep)
        utt_s = sum(e["utts_per_second"] for e in ep) / len(ep)
        frames_s = sum(e["frames_per_second"] for e in ep) / len(ep)
        # backward costs about twice the forward: 3x the forward FLOPs per trained second of audio;
        # an ensemble's members train one at a time, each step through one member
        member_mflops = r["info"]["mflops_per_audio_second"] / r["info"].get("ensemble_members", 1)
        achieved = 3 * member_mflops * 1e6 * frames_s / 100.0 / 1e9
        n_epochs = sum(t["epochs_run"] for t in r["train"]) / len(r["train"])
        rows.append(f"| {r['tag']} | {n_epochs:.1f} | {secs:.1f} | {utt_s:.0f} | {achieved:.1f} |"
                    + (f" {matmul:.0f} |" if matmul else ""))
    return rows


DEV_USE = {
    True: "one dev speaker group per fold for early stopping and checkpoint selection",
    False: "no dev speakers: all other speakers train, the neural models on a fixed schedule (no early stopping) "
           "and the baseline SVM with C chosen on inner speaker folds of the training speakers",
}


def render(runs: List[Dict], protocol: str, title: str, command: str, folds_txt: Optional[str], matmul: Optional[float],
           exp: Path = Path("exp"), has_dev: bool = True) -> str:
    n = runs[0]["summary"]["num_folds"]
    out = [f"# {title}", "", f"Protocol: {PROTOCOLS.get(protocol, protocol)} ({n} folds); {DEV_USE[has_dev]}; "
           f"scores on each fold's unseen test speakers.", "",
           f"Measured {time.strftime('%Y-%m-%d')} on {os.cpu_count()} CPU cores ({platform.machine()}), with:", "",
           "```bash", command, "```", "",
           "## Summary", "", "UA, WA, macro-F1 in %: mean ± sample std over folds; pooled: all test utterances together.", "",
           "| config | model | parameters | MFLOPs per s of audio | UA | WA | macro-F1 | pooled UA | pooled WA | training wall time |",
           "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in runs:
        s, info = r["summary"], r["info"]
        seconds = r["wall"] if r["wall"] is not None else info.get("seconds")
        wall = f"{seconds / 60:.1f} min" if seconds is not None else "n/a"
        params = f"{info['parameters']:,}" if "parameters" in info else "n/a"
        mflops = f"{info['mflops_per_audio_second']:.0f}" if "mflops_per_audio_second" in info else "n/a"
        out.append(
            f"| {r['tag']} | {info['model']} | {params} | {mflops} | "
            f"{_pm(s, 'ua')} | {_pm(s, 'wa')} | {_pm(s, 'macro_f1')} | {100 * s['pooled']['ua']:.1f} | "
            f"{100 * s['pooled']['wa']:.1f} | {wall} |"
        )
    out += ["", "Training wall time: all folds of one config, several trained at once (the recipe's --train-jobs); "
            "for the baseline, functional extraction and the SVMs of all folds."
            + (" `<config>+svm`: that config's test posteriors averaged with the baseline's, utterance by "
               "utterance (fixed weight 0.5, serkit.bin.late_fusion)." if any(r["tag"].endswith("+svm") for r in runs) else ""), ""]
    main = runs[0]
    body = main["markdown"].split("\n", 1)[1].replace("## Pooled confusion", "### Pooled confusion")
    out += [f"## Per fold: {main['tag']}", ""]
    if folds_txt:
        out += ["Folds (`<fold> <test speakers> <dev speakers>`):", "", "```", folds_txt.strip(), "```", ""]
    out += [body.strip(), ""] + _robust_rows(runs) + _deployment_rows(exp, runs)
    out += ["## Training cost", ""] + _cost_rows(runs, matmul) + [""]
    return "\n".join(out)


def main(argv: List[str]) -> int:
    p = cli.parser(__doc__)
    p.add_argument("--exp", default="exp")
    p.add_argument("--folds-dir", default="data/folds")
    p.add_argument("--protocol", default="loso")
    p.add_argument("--title", default="Results")
    p.add_argument("--command", default="")
    p.add_argument("--out", default="RESULTS.md")
    p.add_argument("configs", nargs="+")
    args = p.parse_args(argv)
    cli.setup_logging(args.verbose)
    exp = Path(args.exp)
    runs = [_experiment(exp, Path(c).stem) for c in args.configs]
    folds_txt = Path(args.folds_dir, "folds.txt")
    from serkit.models.profile import matmul_flops

    text = render(runs, args.protocol, args.title, args.command,
                  folds_txt.read_text() if folds_txt.is_file() else None, matmul_flops(threads=1) / 1e9, exp,
                  has_dev=any(Path(args.folds_dir).glob("fold*/dev")))
    print(md_sections.write_keeping(args.out, text))  # tables benchmarks put into the old file are kept
    return 0


if __name__ == "__main__":
    cli.run(main, prog="write_results")

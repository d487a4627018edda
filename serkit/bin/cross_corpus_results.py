"""The cross-corpus results matrix (train corpus x test corpus, UA) as Markdown.

    python -m serkit.bin.cross_corpus_results --pairs data/pairs --exp exp --command "..." --out RESULTS.md

Each ``<pairs>/pair<k>`` holds ``name`` (``<train>:<test>``), ``labels.txt`` and the data
directories (a pair scored with a shared model, such as the pooled one, holds only ``test`` and
``trained_on``, the model's data folder); ``<exp>/pair<k>/scores/scores.json`` holds its scores,
and where the recipe ran the baseline, ``<exp>/pair<k>/svm/scores`` and ``<exp>/pair<k>/fused/scores``
those of the openSMILE SVM and of its fusion with the pair model (two more matrices).
"""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Dict, List

from serkit.data.datadir import DataDir
from serkit.data.table import read_table
from serkit.errors import SerkitError
from serkit.utils import cli, md_sections
from serkit.utils.atomic import atomic_write_text


BASELINE_SYSTEMS = {"svm": "openSMILE ComParE_2016 + SVM",
                    "fused": "The pair model and the SVM, posteriors averaged (weight 0.5)"}


def _matrix(rows: List[Dict], key: str, trains: List[str], tests: List[str]) -> List[str]:
    cell = {(r["train"], r["test"]): r[key] for r in rows if key in r}
    out = ["| train \\ test | " + " | ".join(tests) + " |", "|---|" + "---:|" * len(tests)]
    for t in trains:
        if any((t, s) in cell for s in tests):
            out.append(f"| {t} | " + " | ".join(f"{100 * cell[(t, s)]['ua']:.1f}" if (t, s) in cell else ""
                                                 for s in tests) + " |")
    return out


def _pairs(pairs: Path, exp: Path) -> List[Dict]:
    out = []
    for d in sorted((p for p in pairs.glob("pair*") if p.is_dir()), key=lambda p: int(p.name[4:])):
        scores = exp / d.name / "scores" / "scores.json"
        if not scores.is_file():
            raise SerkitError(f"{scores} is missing; run the training and scoring stages first")
        train, test = (d / "name").read_text().strip().split(":")
        n = {s: len(DataDir(d / s).utts) for s in ("train", "dev", "test") if (d / s).is_dir()}
        if (d / "trained_on").is_file():  # scored with a shared model: its own training data
            src = Path((d / "trained_on").read_text().strip())
            n.update({s: len(DataDir(src / s).utts) for s in ("train", "dev") if (src / s).is_dir()})
        extra = {name: json.loads(f.read_text()) for name in BASELINE_SYSTEMS
                 if (f := exp / d.name / name / "scores" / "scores.json").is_file()}
        out.append({
            "train": train, "test": test, "labels": (d / "labels.txt").read_text().split(),
            "scores": json.loads(scores.read_text()), "n": n, **extra,
        })
    return out


def render(rows: List[Dict], command: str) -> str:
    trains = sorted({r["train"] for r in rows}, key=lambda t: (t == "pooled", t))
    tests = sorted({r["test"] for r in rows})
    out = ["# Cross-corpus results", "",
           f"Measured {time.strftime('%Y-%m-%d')} with:", "", "```bash", command, "```", "",
           "UA (%) on the labels each pair shares; rows: training corpus (or corpora joined by +), columns: test "
           "corpus. On the diagonal the model is tested on held-out speakers of its own corpus (within-corpus "
           "reference, same labels and model); off the diagonal on the whole other corpus."
           + (" The pooled row is one model trained on all the corpora at once (their held-out speakers "
              "excluded), scored on each corpus's held-out speakers (the diagonal's), deciding among that "
              "corpus's labels." if any(r["train"] == "pooled" for r in rows) else ""), "",
           *_matrix(rows, "scores", trains, tests)]
    for key, what in BASELINE_SYSTEMS.items():
        if any(key in r for r in rows):
            out += ["", f"{what}, trained and tested on the same sets (UA %):", "",
                    *_matrix(rows, key, trains, tests)]
    out += ["", "| train | test | shared labels | chance UA | UA | WA | macro-F1 | train / dev / test utterances |",
            "|---|---|---|---:|---:|---:|---:|---|"]
    for r in rows:
        s, n = r["scores"], r["n"]
        out.append(
            f"| {r['train']} | {r['test']} | {' '.join(r['labels'])} | {100 / len(r['labels']):.1f} | "
            f"{100 * s['ua']:.1f} | {100 * s['wa']:.1f} | {100 * s['macro_f1']:.1f} | "
            f"{n.get('train', 0)} / {n.get('dev', 0)} / {n.get('test', 0)} |"
        )
    return "\n".join(out) + "\n"


def main(argv: List[str]) -> int:
    p = cli.parser(__doc__)
    p.add_argument("--pairs", default="data/pairs")
    p.add_argument("--exp", default="exp")
    p.add_argument("--command", default="")
    p.add_argument("--out", default="RESULTS.md")
    p.add_argument("--json", help="also the matrix as JSON (what the general model's card records)")
    p.add_argument("--general-data", help="with --json: the general model's data folder (corpora.txt, train/): its "
                                          "corpora, their labels and its training utterances go into the JSON")
    args = p.parse_args(argv)
    rows = _pairs(Path(args.pairs), Path(args.exp))
    if args.json:
        matrix: Dict[str, Dict[str, float]] = {}
        for r in rows:
            matrix.setdefault(r["train"], {})[r["test"]] = round(100 * r["scores"]["ua"], 1)
        summary: Dict = {"what": "cross-corpus UA (%): rows train corpora, columns test corpora (held-out speakers on the "
                           "diagonal and in the pooled row)", "command": args.command, "ua": matrix}
        for key in BASELINE_SYSTEMS:
            for r in rows:
                if key in r:
                    summary.setdefault(f"ua_{key}", {}).setdefault(r["train"], {})[r["test"]] = round(100 * r[key]["ua"], 1)
        if args.general_data:
            data = Path(args.general_data)
            summary["trained_on"] = {
                "corpora": {corpus: labels.split() for corpus, labels in read_table(data / "corpora.txt").items()},
                "train_utterances": len(read_table(data / "train" / "utt2spk")),
            }
        atomic_write_text(args.json, json.dumps(summary, indent=2) + "\n")
    text = render(rows, args.command)
    md_sections.write_keeping(args.out, text)  # sections put there by benchmarks or by hand are kept
    print(text)
    return 0


if __name__ == "__main__":
    cli.run(main, prog="cross_corpus_results")

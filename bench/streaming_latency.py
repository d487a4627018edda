#!/usr/bin/env python3
"""Streaming latency: per-hop compute latency and real-time factor of the sliding-window
recognizer (serkit.infer.streaming), one thread, for PyTorch and ONNX (fp32, INT8) models.

    tools/venv/bin/python bench/streaming_latency.py --wav-scp egs/emodb/data/all/wav.scp \\
        --models egs/emodb/exp/train/fold1/final.pt egs/emodb/exp/train/fold1/export/model.onnx \\
        --windows 2.0:0.5 3.0:1.0 --seconds 60 --update bench/RESULTS.md

A stream of ``--seconds`` of speech is built by concatenating utterances of the wav.scp (in
its order) and pushed in ``--block``-second blocks, as a microphone would deliver it. Each
model/window combination runs ``--repeats`` times; the table gives the fastest run's median and
95th-percentile latency per hop and its RTF (compute time / audio time). With ``--update`` the
table goes into the file's ``streaming`` section (serkit.utils.md_sections).
"""
import argparse
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def build_stream(wav_scp: Path, seconds: float, rate: int, recognizer) -> np.ndarray:
    parts, total = [], 0
    for line in wav_scp.read_text().splitlines():
        if not line.strip():
            continue
        _, entry = line.split(maxsplit=1)
        samples = recognizer.read_audio(entry, what=entry)
        parts.append(samples)
        total += len(samples)
        if total >= seconds * rate:
            break
    if total < seconds * rate:
        raise SystemExit(f"{wav_scp}: only {total / rate:.1f} s of audio, fewer than --seconds {seconds}")
    return np.concatenate(parts)[: int(seconds * rate)].astype(np.float32)


def run_once(recognizer, samples: np.ndarray, window: float, hop: float, block: float):
    from serkit.infer.streaming import StreamingRecognizer

    stream = StreamingRecognizer(recognizer, window, hop)
    step = int(block * recognizer.sample_rate)
    for start in range(0, len(samples), step):
        stream.push(samples[start:start + step])
    stream.flush()
    return stream.stats.summary()


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--wav-scp", required=True, type=Path)
    p.add_argument("--models", nargs="+", required=True, help="final.pt, model.onnx, model_int8.onnx ...")
    p.add_argument("--windows", nargs="+", default=["2.0:0.5"], help="window:hop in seconds")
    p.add_argument("--seconds", type=float, default=60.0)
    p.add_argument("--block", type=float, default=0.1, help="seconds of audio per push")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--update", type=Path, help="put the table into this Markdown file's 'streaming' section")
    args = p.parse_args()
    import torch

    from serkit.infer.recognizer import Recognizer
    from serkit.utils import md_sections

    torch.set_num_threads(1)
    rows = ["| model | backend | window / hop (s) | windows | latency per hop, median (ms) | p95 (ms) | RTF |",
            "|---|---|---|---:|---:|---:|---:|"]
    samples = None
    for model in args.models:
        rec = Recognizer.load(model, num_threads=1)
        if samples is None:
            samples = build_stream(args.wav_scp, args.seconds, rec.sample_rate, rec)
        for spec in args.windows:
            window, hop = (float(x) for x in spec.split(":"))
            runs = [run_once(rec, samples, window, hop, args.block) for _ in range(args.repeats)]
            best = min(runs, key=lambda s: s["rtf"])
            rows.append(f"| `{model}` | {rec.backend.name} | {window:g} / {hop:g} | {best['events']} | "
                        f"{best['latency_ms_median']:.1f} | {best['latency_ms_p95']:.1f} | {best['rtf']:.4f} |")
            print(rows[-1], flush=True)
    table = "\n".join(rows) + "\n"
    if args.update:
        cmd = " ".join(["tools/venv/bin/python bench/streaming_latency.py"] + sys.argv[1:])
        note = (f"## Streaming latency (issue 6)\n\nCommand ({time.strftime('%Y-%m-%d')}, {os.cpu_count()} CPU cores, "
                f"{platform.machine()}, one thread, nothing else running):\n\n```bash\n{cmd}\n```\n\n"
                f"A {args.seconds:g} s stream of concatenated utterances pushed in {args.block:g} s blocks; fastest "
                f"of {args.repeats} runs. Latency per hop: compute time from the push that completes a window to its "
                "estimate (features of the new samples, CMVN, the model on the whole window); RTF: all compute "
                "time / audio time. The hop bounds how often an estimate can come; the window adds its length "
                "of look-back, not of delay.\n\n")
        md_sections.update_file(args.update, "streaming", note + table)
        print(f"table written into {args.update}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

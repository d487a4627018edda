#!/usr/bin/env python3
"""Resampling speed to 16 kHz on one core, and feature extraction of a 44.1 kHz corpus.

    OMP_NUM_THREADS=1 tools/venv/bin/python bench/resample_speed.py \\
        [--savee-root ../shared/corpora/savee --emodb-root ../shared/corpora/emodb] [--update bench/RESULTS.md]

Part 1: serkit.data.audio.resample (soxr, HQ) on 60 s of speech-like audio at each source rate,
as times real time (audio seconds per compute second; the fastest of --repeat runs), beside the
gcd-based sinc kernel it replaced (torchaudio.functional.resample, on 2 s: it is slow). Part 2
(with the corpus options): ``make_feats.sh --nj 2`` (128-bin log-mel) on SAVEE (44.1 kHz FLAC,
resampled on the way) beside EmoDB (16 kHz WAV), wall and in-job compute time.
"""
import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))
RATES = [8000, 11025, 22050, 24414, 32000, 44100, 48000, 96000]
SECTION = "resampling"


def speech_like(seconds: float, rate: int) -> np.ndarray:
    """Harmonics of a gliding 120-220 Hz voice up to the source's Nyquist frequency, plus noise."""
    rng = np.random.default_rng(0)
    t = np.arange(int(seconds * rate)) / rate
    f0 = 170 + 50 * np.sin(2 * np.pi * 0.5 * t)
    phase = 2 * np.pi * np.cumsum(f0) / rate
    x = sum(np.sin(k * phase) / k for k in range(1, int(rate / 2 / 220)))
    x = x / np.max(np.abs(x)) * 0.3 + 0.003 * rng.standard_normal(len(t))
    return x.astype(np.float32)


def best_time(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def resampling_rows(seconds: float, repeat: int):
    import torch
    import torchaudio.functional as AF

    from serkit.data.audio import resample

    torch.set_num_threads(1)
    rows = []
    for rate in RATES:
        x = speech_like(seconds, rate)
        ours = best_time(lambda: resample(x, rate, 16000), repeat)
        short = torch.from_numpy(x[: 2 * rate].copy())
        old = best_time(lambda: AF.resample(short, rate, 16000), 1)
        rows.append((rate, seconds / ours, 2.0 / old))
    return rows


def extraction_rows(savee: str, emodb: str, nj: int, repeat: int):
    from feats_speed import audio_seconds, run, time_make_feats

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for name, root, prep in (("SAVEE (44.1 kHz FLAC)", savee, "egs/savee/local/prepare_data.py"),
                                 ("EmoDB (16 kHz WAV)", emodb, "egs/emodb/local/prepare_data.py")):
            data = work / name.split()[0].lower()
            run([sys.executable, REPO / prep, Path(root).resolve(), data], work)
            wall, compute = min(time_make_feats(work, data, "logmel", nj) for _ in range(repeat))
            n = len((data / "utt2spk").read_text().splitlines())
            rows.append((name, n, audio_seconds(data), wall, compute))
    return rows


def table(resampling, extraction, args) -> str:
    cmd = "OMP_NUM_THREADS=1 tools/venv/bin/python bench/resample_speed.py" + (
        f" --savee-root {args.savee_root} --emodb-root {args.emodb_root}" if extraction else "") + (
        f" --update {args.update}" if args.update else "")
    import soxr
    import torch

    out = ["## Resampling to 16 kHz (issue 12)\n",
           f"Command ({time.strftime('%Y-%m-%d')}, {os.cpu_count()} CPU cores, one thread, nothing else running; "
           f"soxr {soxr.__version__}, torch {torch.__version__}):\n",
           f"```bash\n{cmd}\n```\n",
           f"Speech-like audio (harmonics up to the source's Nyquist frequency), {args.seconds:g} s per rate, "
           f"fastest of {args.repeat} runs; times real time = audio seconds / compute seconds. The old kernel "
           f"(torchaudio's gcd-based sinc resampler, serkit's before issue 12) on 2 s, once.\n",
           "| source rate (Hz) | serkit (soxr HQ), x real time | old kernel, x real time |",
           "|---:|---:|---:|"]
    out += [f"| {rate:,} | {ours:,.0f} | {old:,.1f} |" for rate, ours, old in resampling]
    slowest = min(resampling, key=lambda row: row[1])
    out += ["", f"Slowest rate: {slowest[0]:,} Hz at {slowest[1]:,.0f}x real time (the aim: at least 500x for "
            f"every rate); the old kernel took {2.0 / slowest[2]:.1f} s for 2 s of it."]
    if extraction:
        out += ["", f"Feature extraction, `make_feats.sh --nj {args.nj} --feat-type logmel` (fastest of {args.repeat}; "
                "wall: the whole call with process start-up; compute: the slowest job's own time, from its log):\n",
                "| corpus | utterances | audio (min) | wall (s) | compute (s) | RTF (compute) |",
                "|---|---:|---:|---:|---:|---:|"]
        out += [f"| {name} | {n} | {sec / 60:.1f} | {wall:.2f} | {compute:.2f} | {compute / sec:.4f} |"
                for name, n, sec, wall, compute in extraction]
    return "\n".join(out) + "\n"


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seconds", type=float, default=60.0)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--savee-root")
    p.add_argument("--emodb-root")
    p.add_argument("--nj", type=int, default=2)
    p.add_argument("--update", help="put the table into this Markdown file's 'resampling' section")
    args = p.parse_args()
    if bool(args.savee_root) != bool(args.emodb_root):
        p.error("give both --savee-root and --emodb-root, or neither")
    extraction = extraction_rows(args.savee_root, args.emodb_root, args.nj, args.repeat) if args.savee_root else []
    text = table(resampling_rows(args.seconds, args.repeat), extraction, args)
    print(text)
    if args.update:
        from serkit.utils.md_sections import update_file

        update_file(args.update, SECTION, text)


if __name__ == "__main__":
    main()

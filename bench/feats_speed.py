#!/usr/bin/env python3
"""Feature extraction speed on a real corpus: utils/make_feats.sh vs a kaldi-native-fbank loop.

    tools/venv/bin/python bench/feats_speed.py --emodb-root ../shared/corpora/emodb [--nj 2]

Prepares EmoDB into a scratch directory, times ``make_feats.sh --nj N`` for fbank and logmel
(wall time including process start-up, and the in-job compute time from the job logs), then
times a single-process loop over the same files with kaldi-native-fbank (80-bin fbank, reading
included). Prints a Markdown table.
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

REPO = Path(__file__).resolve().parents[1]


def run(cmd, cwd):
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}", LC_ALL="C")
    subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL)


def audio_seconds(data_dir: Path) -> float:
    return sum(float(line.split()[1]) for line in (data_dir / "utt2dur").read_text().splitlines())


def time_make_feats(work: Path, data: Path, feat_type: str, nj: int):
    log = work / f"log_{feat_type}"
    start = time.perf_counter()
    run([REPO / "utils/make_feats.sh", "--nj", nj, "--feat-type", feat_type, data, log, work / f"feats_{feat_type}"], work)
    wall = time.perf_counter() - start
    compute = max(
        float(re.search(r"audio in ([\d.]+) s", p.read_text()).group(1)) for p in log.glob("make_*.log")
    )
    return wall, compute


def time_knf_loop(data: Path) -> float:
    import kaldi_native_fbank as knf

    paths = [line.split(maxsplit=1)[1] for line in (data / "wav.scp").read_text().splitlines()]
    opts = knf.FbankOptions()
    opts.mel_opts.num_bins = 80
    opts.frame_opts.dither = 0.0
    start = time.perf_counter()
    for path in paths:
        samples, rate = sf.read(path, dtype="float32")
        fbank = knf.OnlineFbank(opts)
        fbank.accept_waveform(rate, (samples * 32768).tolist())
        fbank.input_finished()
        np.array([fbank.get_frame(i) for i in range(fbank.num_frames_ready)])
    return time.perf_counter() - start


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--emodb-root", required=True)
    p.add_argument("--nj", type=int, default=2)
    p.add_argument("--repeat", type=int, default=3, help="runs per extractor; the fastest is reported")
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        data = work / "all"
        run([sys.executable, REPO / "egs/emodb/local/prepare_data.py", Path(args.emodb_root).resolve(), data], work)
        seconds = audio_seconds(data)
        n = len((data / "utt2spk").read_text().splitlines())
        rows = []
        for feat_type in ("fbank", "logmel"):
            wall, compute = min(time_make_feats(work, data, feat_type, args.nj) for _ in range(args.repeat))
            rows.append((f"serkit make_feats.sh --nj {args.nj} --feat-type {feat_type}", wall, compute))
        knf_time = min(time_knf_loop(data) for _ in range(args.repeat))
        rows.append(("kaldi-native-fbank loop, 1 process (80-bin fbank)", knf_time, knf_time))
    print(f"EmoDB: {n} utterances, {seconds / 60:.1f} min of audio; {os.cpu_count()} CPU cores\n")
    print(f"Fastest of {args.repeat} runs each. 'compute' excludes process start-up: the slowest job's own time.\n")
    print("| extractor | wall time (s) | RTF (wall) | compute (s) | RTF (compute) |")
    print("|---|---|---|---|---|")
    for name, wall, compute in rows:
        print(f"| {name} | {wall:.2f} | {wall / seconds:.4f} | {compute:.2f} | {compute / seconds:.4f} |")


if __name__ == "__main__":
    main()

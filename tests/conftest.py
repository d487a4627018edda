"""Shared fixtures: small synthetic data directories with real audio files."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Dict, Optional

import numpy as np
import pytest
import soundfile as sf

REPO = Path(__file__).resolve().parents[1]
UTILS = REPO / "utils"
SHARED_CORPORA = Path(os.environ.get("SERKIT_CORPORA", REPO.parent / "shared" / "corpora"))

from serkit.data.table import invert_multimap, write_table  # noqa: E402


def voiced_signal(seconds: float, rate: int = 16000, f0: float = 140.0, seed: int = 0) -> np.ndarray:
    """A speech-like test signal: a glottal-ish harmonic series with vibrato through two resonances."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    f = f0 * (1 + 0.05 * np.sin(2 * np.pi * 3 * t))
    phase = 2 * np.pi * np.cumsum(f) / rate
    x = sum(np.sin(k * phase) / k for k in range(1, 25))
    from scipy.signal import lfilter

    for fc, bw in ((700, 90), (1200, 110)):
        r = np.exp(-np.pi * bw / rate)
        x = lfilter([1 - r], [1, -2 * r * np.cos(2 * np.pi * fc / rate), r * r], x)
    x = x / np.max(np.abs(x)) * 0.3 + 0.003 * rng.standard_normal(len(t))
    return x.astype(np.float32)


def make_data_dir(
    root: Path,
    name: str = "data",
    speakers=("spkA", "spkB", "spkC"),
    utts_per_spk: int = 4,
    rate: int = 16000,
    seconds: float = 0.6,
    emotions=("angry", "sad"),
    fmt: str = "wav",
) -> Path:
    """Write audio and a consistent data directory (wav.scp, utt2spk, spk2utt, utt2emo, text)."""
    d = root / name
    wav_dir = root / f"{name}_wav"
    d.mkdir(parents=True)
    wav_dir.mkdir()
    wav: Dict[str, str] = {}
    utt2spk: Dict[str, str] = {}
    utt2emo: Dict[str, str] = {}
    for si, spk in enumerate(speakers):
        for i in range(utts_per_spk):
            utt = f"{spk}-u{i:02d}"
            path = wav_dir / f"{utt}.{fmt}"
            sig = voiced_signal(seconds + 0.1 * i, rate, f0=110 + 20 * si + 10 * i, seed=si * 100 + i)
            sf.write(path, sig, rate, subtype="PCM_16")
            wav[utt] = str(path)
            utt2spk[utt] = spk
            utt2emo[utt] = emotions[i % len(emotions)]
    write_table(d / "wav.scp", wav)
    write_table(d / "utt2spk", utt2spk)
    write_table(d / "spk2utt", invert_multimap(utt2spk))
    write_table(d / "utt2emo", utt2emo)
    write_table(d / "text", {u: f"words of {u}" for u in utt2spk})
    return d


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return make_data_dir(tmp_path)


def run_script(args, cwd: Optional[Path] = None, check: bool = True, env: Optional[dict] = None):
    """Run a utils/ script (or any command) with the venv's Python first on PATH."""
    full_env = dict(os.environ)
    full_env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{full_env['PATH']}"
    full_env["LC_ALL"] = "C"
    full_env.update(env or {})
    proc = subprocess.run([str(a) for a in args], cwd=cwd, env=full_env, capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise AssertionError(f"{args} failed ({proc.returncode}):\nSTDOUT:\n{proc.stdout}\nSTDERR:\n{proc.stderr}")
    return proc


def emodb_wavs(n: int = 3):
    """A few real EmoDB files, or skip when the corpus is not on this machine."""
    wav_dir = SHARED_CORPORA / "emodb" / "wav"
    files = sorted(wav_dir.glob("*.wav"))[:n] if wav_dir.is_dir() else []
    if not files:
        pytest.skip(f"real speech (EmoDB) not found under {wav_dir}; set SERKIT_CORPORA to run this test")
    return files


def make_feature_dir(
    root: Path,
    name: str,
    speakers=("s1", "s2", "s3"),
    utts_per_spk: int = 12,
    labels=("angry", "neutral", "sad"),
    dim: int = 24,
    frames=(40, 90),
    seed: int = 0,
) -> Path:
    """A data directory with features only (no audio): each class raises the energy of its own
    band of bins, so a model can learn the task in a few epochs. Per-speaker CMVN included."""
    from serkit.feats.ark import AtomicArkWriter
    from serkit.feats.cmvn import accumulate

    rng = np.random.default_rng(seed)
    d = root / name
    d.mkdir(parents=True)
    utt2spk, utt2emo, mats = {}, {}, {}
    band = dim // len(labels)
    for spk in speakers:
        offset = rng.normal(0, 1, dim)  # a speaker-specific spectral offset
        for i in range(utts_per_spk):
            utt = f"{spk}-{i:03d}"
            c = i % len(labels)
            t = int(rng.integers(frames[0], frames[1]))
            mat = rng.normal(0, 1, (t, dim)) + offset
            mat[:, c * band:(c + 1) * band] += 1.5
            mats[utt] = mat.astype(np.float32)
            utt2spk[utt] = spk
            utt2emo[utt] = labels[c]
    with AtomicArkWriter(d / "feats.ark", d / "feats.scp") as w:
        for utt in sorted(mats):
            w.write(utt, mats[utt])
    with AtomicArkWriter(d / "cmvn.ark", d / "cmvn.scp") as w:
        for spk in speakers:
            w.write(spk, accumulate(m for u, m in mats.items() if utt2spk[u] == spk))
    write_table(d / "utt2spk", utt2spk)
    write_table(d / "spk2utt", invert_multimap(utt2spk))
    write_table(d / "utt2emo", utt2emo)
    write_table(d / "utt2num_frames", {u: str(len(m)) for u, m in mats.items()})
    return d


TINY_MODEL = {"channels": [4, 8], "pools": [[2, 2], [1, 2]], "branch_dim": 8, "rnn_hidden": 16,
              "attention_hidden": 8, "band_overlap": 2}


@pytest.fixture
def one_thread():
    """One torch thread for the test: the models in tests are tiny, and more threads on a busy
    2-core machine only wait. Modules use it with ``pytestmark = pytest.mark.usefixtures("one_thread")``."""
    import torch

    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)

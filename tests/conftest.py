"""Shared fixtures and builders: synthetic audio and data directories, release trees of the
corpora with recipes, a fixed tiny checkpoint, recipes in a scratch folder."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from functools import lru_cache
from pathlib import Path
from typing import Dict, Optional

import numpy as np
import pytest
import soundfile as sf
import torch

REPO = Path(__file__).resolve().parents[1]
UTILS = REPO / "utils"
SHARED_CORPORA = Path(os.environ.get("SERKIT_CORPORA", REPO.parent / "shared" / "corpora"))

from serkit.data.table import invert_multimap, write_table  # noqa: E402
from serkit.feats.cmvn import accumulate  # noqa: E402
from serkit.feats.config import FeatureConfig, LogMelConfig  # noqa: E402
from serkit.feats.frontends import LogMel  # noqa: E402
from serkit.models import build_model  # noqa: E402
from serkit.utils.config import to_dict  # noqa: E402


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


# ---- release trees of the corpora with recipes, with the quirks of real copies -----------------
# (test_corpus_prep.py prepares them; test_recipes.py and test_slurm_cluster.py run recipes on them)
@lru_cache(maxsize=None)
def tone(rate: int, channels: int = 1, seconds: float = 0.08) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    x = (0.2 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
    return x if channels == 1 else np.stack([x] * channels, axis=1)


def write_audio(path: Path, rate: int, channels: int = 1, fmt: Optional[str] = None) -> Path:
    """Short audio at ``path``; ``fmt`` forces the container whatever the extension says."""
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), tone(rate, channels), rate, format=fmt)
    return path


def write_junk(root: Path) -> None:
    """The stray files of real copies: Finder/Explorer droppings and a readme."""
    (root / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")
    (root / "Thumbs.db").write_bytes(b"\xd0\xcf\x11\xe0 not audio")
    (root / "readme.txt").write_text("notes from whoever copied this\n")


def make_savee_flat(root: Path) -> Path:
    for spk in ("DC", "JE", "JK", "KL"):
        for name in ("a01", "n30", "sa03", "su15"):
            write_audio(root / f"{spk}_{name}.flac", 44100)
    write_audio(root / "JE_h01.wav", 44100, fmt="FLAC")  # FLAC behind a .wav extension
    write_audio(root / "JK_d02.wav", 22050, channels=2)  # another rate, stereo: used as is
    write_audio(root / "DC_x01.flac", 44100)  # no emotion x
    write_audio(root / "DC_a16.flac", 44100)  # SAVEE has a01-a15
    write_audio(root / "XY_a01.flac", 44100)  # no speaker XY
    write_audio(root / "backup" / "DC_a01.wav", 44100)  # a second copy
    write_junk(root)
    return root


def make_ravdess(root: Path) -> Path:
    speech = root / "Audio_Speech_Actors_01-24"
    for actor in range(1, 25):
        d = speech / f"Actor_{actor:02d}"
        write_audio(d / f"03-01-01-01-01-01-{actor:02d}.wav", 48000)  # neutral, statement 1
        write_audio(d / f"03-01-02-02-02-01-{actor:02d}.wav", 48000, channels=2 if actor == 3 else 1)  # calm
        write_audio(d / f"03-01-08-02-02-02-{actor:02d}.wav", 48000)  # surprised
    song = root / "Audio_Song_Actors_01-24" / "Actor_01"
    write_audio(song / "03-02-03-01-01-01-01.wav", 48000)  # a song file
    write_audio(speech / "Actor_02" / "02-01-05-01-01-01-02.wav", 48000)  # a video-only name
    (speech / "Actor_02" / "01-01-05-01-01-01-02.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42")
    write_audio(speech / "Actor_06" / "03-01-05-01-01-01-05.wav", 48000)  # actor 05 in folder Actor_06
    write_audio(speech / "Actor_07" / "03-01-09-01-01-01-07.wav", 48000)  # no emotion 09
    write_audio(speech / "Actor_07" / "03-01-01-02-01-01-07.wav", 48000)  # neutral is never strong
    write_audio(speech / "Actor_07" / "03-01-04-01-01-01-7.wav", 48000)  # a field of one digit
    write_audio(speech / "Actor_08" / "03-01-07-01-01-01-08.wav", 16000, fmt="FLAC")  # FLAC inside
    write_junk(root)
    return root


TESS_RATE = 24414


def make_tess(root: Path) -> Path:
    layout = {  # folder -> emotion spelling in the file names, as copies of TESS have them
        "OAF_angry": "angry", "OAF_Fear": "fear", "OAF_Pleasant_surprise": "ps", "OAF_Sad": "Sad",
        "OAF_neautral": "neutral",  # misspelled folder
        "YAF_angry": "angry", "YAF_fear": "fear", "YAF_pleasant_surprised": "ps", "YAF_sad": "sad",
        "YAF_neutral": "neutral",
    }
    for folder, emotion in layout.items():
        spk = folder[:3]
        for word in ("back", "dog"):
            write_audio(root / folder / f"{spk}_{word}_{emotion}.wav", TESS_RATE)
    write_audio(root / "YAF_sad" / "YAF_bath_angry.wav", TESS_RATE)  # folder and name disagree
    write_audio(root / "YAF_sad" / "YAF_bath.wav", TESS_RATE)  # no emotion in the name
    write_audio(root / "YAF_sad" / "YAF_bite_sadd.wav", TESS_RATE, fmt="FLAC")  # misspelled, FLAC inside
    write_audio(root / "OAF_angry" / "OAF_back_bored.wav", TESS_RATE)  # not a TESS emotion
    write_audio(root / "tess copy" / "OAF_angry" / "OAF_back_angry.wav", TESS_RATE)  # nested duplicate
    write_junk(root)
    return root


def make_crema(root: Path) -> Path:
    wav = root / "AudioWAV"
    for actor in range(1001, 1092):
        write_audio(wav / f"{actor}_DFA_ANG_XX.wav", 16000)
    write_audio(wav / "1001_IEO_NEU_XX.wav", 16000)
    write_audio(wav / "1002_ITH_SAD_HI.wav", 16000)
    write_audio(wav / "1003_WSI_hap_LO.wav", 16000)  # lower-case code: mapped and logged
    write_audio(wav / "1004_TSI_FEA_MD.wav", 44100, channels=2)
    write_audio(wav / "1005_IWW_DIS_XX.wav", 16000, fmt="FLAC")
    write_audio(wav / "1006_IEO_SUR_XX.wav", 16000)  # no surprise in CREMA-D
    write_audio(wav / "1007_ABC_ANG_XX.wav", 16000)  # no sentence ABC
    write_audio(wav / "1092_DFA_ANG_XX.wav", 16000)  # no actor 1092
    write_audio(wav / "1008_DFA_ANG.wav", 16000)  # level missing
    write_audio(wav / "1040_ITH_SAD_X.wav", 16000)  # the release's one-letter level: read as XX
    write_audio(root / "AudioMP3" / "1001_DFA_ANG_XX.wav", 16000)  # outside AudioWAV: not read
    write_junk(wav)
    rows = ["ActorID,Age,Sex,Race,Ethnicity"]
    rows += [f"{a},{30 + a % 20},{'Female' if a % 3 == 0 else 'Male'},Caucasian,Not Hispanic"
             for a in range(1001, 1092)]
    (root / "VideoDemographics.csv").write_text("\n".join(rows) + "\n")
    return root


def iemocap_session(root: Path, k: int, utts: Dict[str, str], no_wav=(), no_label=()) -> None:
    """Session<k> with one improvised dialog; ``utts``: last id field -> label code."""
    s = root / f"Session{k}"
    dialog = f"Ses0{k}F_impro01"
    evaluation, transcript = ["% [START_TIME - END_TIME] TURN_NAME EMOTION [V, A, D]", ""], []
    for i, (tail, code) in enumerate(utts.items()):
        utt = f"{dialog}_{tail}"
        start, end = 1.5 + 3 * i, 3.25 + 3 * i
        if tail not in no_wav:
            write_audio(s / "sentences" / "wav" / dialog / f"{utt}.wav", 16000)
        if tail not in no_label:
            evaluation += [f"[{start:.4f} - {end:.4f}]\t{utt}\t{code}\t[2.5000, 3.0000, 2.5000]",
                           f"C-E1:\t{code.title()};\t()", ""]
        transcript.append(f"{utt} [{start:08.4f}-{end:08.4f}]: Words   of {tail}.")
    transcript.append("M: [BREATHING]")
    (s / "dialog" / "EmoEvaluation").mkdir(parents=True)
    (s / "dialog" / "EmoEvaluation" / f"{dialog}.txt").write_text("\n".join(evaluation) + "\n")
    (s / "dialog" / "EmoEvaluation" / "Categorical").mkdir()
    (s / "dialog" / "transcriptions").mkdir(parents=True)
    (s / "dialog" / "transcriptions" / f"{dialog}.txt").write_text("\n".join(transcript) + "\n")


def make_iemocap(root: Path) -> Path:
    for k in range(1, 6):
        utts = {"F000": "neu", "M000": "ang", "F001": "exc", "M001": "hap", "F002": "sad", "M002": "fru"}
        iemocap_session(root, k, utts)
    s1 = root / "Session1"
    script = "Ses01M_script01_1"  # a male-led script: its F utterances are the session's woman
    write_audio(s1 / "sentences" / "wav" / script / f"{script}_F000.wav", 16000, channels=2)
    write_audio(s1 / "sentences" / "wav" / script / f"{script}_M000.wav", 16000)  # no label
    write_audio(s1 / "sentences" / "wav" / script / f"{script}_M001.wav", 16000)  # surprise: left out
    write_audio(s1 / "sentences" / "wav" / script / "notes.pk", 16000, fmt="WAV")  # odd name
    (s1 / "dialog" / "EmoEvaluation" / f"{script}.txt").write_text(
        f"[1.0000 - 2.0000]\t{script}_F000\tsad\t[2.0, 2.0, 2.0]\n"
        f"[3.0000 - 4.0000]\t{script}_M001\tsur\t[2.0, 2.0, 2.0]\n"
        f"[5.0000 - 6.0000]\t{script}_M002\tang\t[2.0, 2.0, 2.0]\n")  # a label without audio
    write_junk(s1 / "sentences" / "wav")
    return root


# ---- a fixed, untrained checkpoint on small log-mel features (test_export.py, test_infer.py) ---
DIM = 40


RATE = 16000


LABELS = ["angry", "happy", "neutral", "sad"]


FEATS = FeatureConfig(logmel=LogMelConfig(num_mel_bins=DIM, n_fft=512))


MODELS = {
    "parallel_crnn": TINY_MODEL,
    "crnn": {**TINY_MODEL, "branch_dim": 12},
    "seed_crnn": {"conv_channels": 8, "rnn_hidden": 12},
}


def logmel() -> LogMel:
    return LogMel(FEATS.logmel, RATE)


def raw_feats(samples: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return logmel()(torch.from_numpy(samples)[None])[0].numpy()


@lru_cache(maxsize=None)
def _utterances():
    return (voiced_signal(1.3, f0=120, seed=1), voiced_signal(3.7, f0=210, seed=2), voiced_signal(2.2, f0=160, seed=3))


def utterances():
    """Real-length speech-like inputs: 1.3 s and 3.7 s (and 2.2 s)."""
    return list(_utterances())


@lru_cache(maxsize=None)
def global_stats() -> np.ndarray:
    return accumulate(raw_feats(g * s) for s in utterances() for g in (0.3, 1.0, 2.0))


def make_checkpoint(name: str = "parallel_crnn", options=None, seed: int = 0, sharpen: float = 6.0) -> dict:
    """An untrained serkit checkpoint with a fixed seed: BatchNorm statistics set away from the
    identity, the classifier scaled up so that posteriors are not all ~uniform, and global CMVN
    stats of real log-mel features."""
    torch.manual_seed(seed)
    options = dict(MODELS[name] if options is None else options)
    model = build_model(name, options, DIM, len(LABELS))
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.running_mean.copy_(torch.rand(module.num_features, generator=gen) - 0.5)
                module.running_var.copy_(0.5 + torch.rand(module.num_features, generator=gen))
        last = [m for m in model.modules() if isinstance(m, torch.nn.Linear)][-1]
        last.weight.mul_(sharpen)
    stats = global_stats().copy()
    return {"model": model.state_dict(), "model_name": name, "model_options": options, "labels": LABELS,
            "input_dim": DIM, "config": {"data": {"cmvn": True, "norm_vars": True}}, "feats_type": "logmel",
            "feats_config": to_dict(FEATS), "global_cmvn": stats, "epoch": 1}


# ---- recipes run from a scratch copy (test_recipes.py, test_slurm_cluster.py, test_cross_corpus.py)
RECIPE_OUTPUTS = {"data", "exp", "exp_tune", "exp_nodev", "exp_robust", "mfcc", "feats", "corpus"}


def copy_recipe(name: str, dst: Path) -> Path:
    """The recipe's files in a scratch folder; its symlinks point back into the repository. What a
    run of the recipe left in the checkout (data/, exp/, feats/...: what git ignores) stays behind,
    so a test never resumes from a developer's models."""
    src = REPO / "egs" / name
    out = dst / name
    out.mkdir(parents=True)
    for entry in src.iterdir():
        if entry.name in RECIPE_OUTPUTS:
            continue
        if entry.is_symlink():
            os.symlink(os.path.realpath(entry), out / entry.name)
        elif entry.is_dir():
            shutil.copytree(entry, out / entry.name)
        else:
            shutil.copy2(entry, out / entry.name)
    return out


TINY_RECIPE_CONFIG = """\
model: {name: parallel_crnn, num_bands: 2, band_overlap: 4, channels: [4, 8], pools: [[2, 2], [1, 2]],
        branch_dim: 16, rnn: lstm, rnn_hidden: 16, pooling: attention, dropout: 0.1}
data: {batch_size: 8, max_frames: 50}
optim: {name: adam, lr: 0.003}
scheduler: {name: cosine}    # TESS's folds have no dev speaker
train: {max_epochs: 2, early_stop_patience: 0, seed: 1}
"""


# ---- serkit-serve on loopback (test_serve.py, test_serve_browser.py) ----------------------------
class RunningServer:
    """The app on 127.0.0.1 in a thread of its own (its own event loop), on a free port."""

    def __init__(self, model, **config) -> None:
        import asyncio
        import threading

        from serkit.infer.recognizer import Recognizer
        from serkit.serve.app import Server, ServerConfig

        self.server = Server(Recognizer.load(model), ServerConfig(**config), str(model))
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        assert self.ready.wait(30), "the server did not start"

    def _run(self) -> None:
        import asyncio

        from aiohttp import web

        asyncio.set_event_loop(self.loop)
        self.runner = web.AppRunner(self.server.app())
        self.loop.run_until_complete(self.runner.setup())
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        self.loop.run_until_complete(site.start())
        self.port = site._server.sockets[0].getsockname()[1]
        self.ready.set()
        self.loop.run_forever()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        import asyncio

        asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result(30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(30)

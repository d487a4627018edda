"""Offline augmentation: waveform perturbations, wav_perturb pipes (fast path = bash), the data-dir tools."""
import io
import logging
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from conftest import UTILS, make_data_dir, run_script, voiced_signal
from serkit.augment import limit_peak, mix_noise, reverberate, simulated_rir, speed_perturb
from serkit.augment.datadir import augment_data_dir, perturb_data_dir_speed, perturb_entry
from serkit.augment.noise_dir import prepare_noise_dir
from serkit.data import audio
from serkit.augment.perturb import command_argv
from serkit.data.audio import AudioLoader, load_audio
from serkit.data.datadir import DataDir
from serkit.data.table import read_table, write_table
from serkit.data.validate import validate_data_dir
from serkit.errors import AudioError

RATE = 16000


def _dominant_freq(x, rate=RATE):
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return np.argmax(spec) * rate / len(x)


def _power_db(x):
    return 10 * np.log10(np.mean(np.square(np.asarray(x, dtype=np.float64))))


def _bash_read(entry: str) -> np.ndarray:
    """Run a wav.scp pipe with bash, as a Kaldi tool would, and decode its WAV."""
    assert entry.endswith("|")
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    proc = subprocess.run(["bash", "-c", entry[:-1]], capture_output=True, env=env)
    assert proc.returncode == 0, proc.stderr.decode()
    samples, rate = sf.read(io.BytesIO(proc.stdout), dtype="float32")
    assert rate == RATE
    return samples


@pytest.fixture
def no_subprocess(monkeypatch):
    """Make any spawned pipe fail: what still reads went through the in-process fast path."""
    def refuse(command, what):
        raise AssertionError(f"spawned a process for {what}")
    monkeypatch.setattr(audio, "_run_pipe", refuse)


def _add_durations(d: Path) -> None:
    wav = read_table(d / "wav.scp")
    write_table(d / "utt2dur", {u: f"{sf.info(p).frames / RATE:.3f}" for u, p in wav.items()})


def _noise_dir(root: Path, seconds=(0.3, 1.5), name="noise") -> Path:
    """A data directory of white/brown noise recordings (one shorter than the utterances)."""
    rng = np.random.default_rng(5)
    d = root / name
    d.mkdir()
    wav, dur = {}, {}
    for i, sec in enumerate(seconds):
        x = rng.standard_normal(int(sec * RATE))
        if i % 2:
            x = np.cumsum(x)
            x -= x.mean()
        path = root / f"{name}{i}.wav"
        sf.write(path, 0.2 * x / np.max(np.abs(x)), RATE, subtype="PCM_16")
        wav[f"n{i}"], dur[f"n{i}"] = str(path), f"{sec:.3f}"
    write_table(d / "wav.scp", wav)
    write_table(d / "utt2spk", {k: k for k in wav})
    write_table(d / "spk2utt", {k: k for k in wav})
    write_table(d / "utt2dur", dur)
    return d


# --- waveform ---------------------------------------------------------------------------------

@pytest.mark.parametrize("factor", [0.9, 1.1])
def test_speed_changes_duration_and_pitch_by_the_factor(factor):
    t = np.arange(RATE) / RATE
    tone = (0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    out = speed_perturb(tone, RATE, factor)
    assert abs(len(out) - RATE / factor) <= 1
    assert abs(_dominant_freq(out) - 440 * factor) < 2
    np.testing.assert_array_equal(speed_perturb(tone, RATE, 1.0), tone)


def test_mix_noise_reaches_the_snr_loops_short_noise_and_is_deterministic(caplog):
    speech = voiced_signal(0.5)
    noise = np.random.default_rng(1).standard_normal(3000).astype(np.float32)  # shorter: loops
    for snr in (20.0, 5.0, -5.0):
        out = mix_noise(speech, noise, snr, offset_samples=1234)
        added = out.astype(np.float64) - speech
        assert abs(_power_db(speech) - _power_db(added) - snr) < 0.1
        looped = noise[(1234 + np.arange(len(speech))) % len(noise)]
        gain = np.dot(added, looped) / np.dot(looped, looped)
        np.testing.assert_allclose(added, gain * looped, atol=1e-6)
        np.testing.assert_array_equal(out, mix_noise(speech, noise, snr, offset_samples=1234))
    assert not np.array_equal(mix_noise(speech, noise, 5.0, 0), mix_noise(speech, noise, 5.0, 100))
    with caplog.at_level(logging.WARNING):
        silent = np.zeros(800, dtype=np.float32)
        np.testing.assert_array_equal(mix_noise(silent, noise, 10.0), silent)
    assert "silent" in caplog.text


def test_reverberate_keeps_length_and_rms_and_does_not_delay():
    x = voiced_signal(0.4)
    delay_only = np.zeros(300)
    delay_only[120] = 0.5
    np.testing.assert_allclose(reverberate(x, delay_only), x, atol=1e-6)  # aligned on the direct path
    rir = simulated_rir(RATE, 0.5, np.random.default_rng(0))
    wet = reverberate(x, np.concatenate([np.zeros(80), rir]))
    assert len(wet) == len(x)
    assert abs(_power_db(wet) - _power_db(x)) < 1e-3
    assert np.corrcoef(wet, x)[0, 1] > 0.5  # not shifted: still correlated with the dry signal
    assert np.max(np.abs(wet - x)) > 0.01  # but not unchanged


@pytest.mark.parametrize("rt60", [0.3, 0.8])
def test_simulated_rir_decays_60_db_in_rt60(rt60):
    h = simulated_rir(RATE, rt60, np.random.default_rng(7), early_reflections=0, drr_db=3.0).astype(np.float64)
    assert np.argmax(np.abs(h)) == 0 and h[0] == pytest.approx(1.0)
    assert 10 * np.log10(1.0 / np.sum(h[1:] ** 2)) == pytest.approx(3.0, abs=0.01)
    edc = 10 * np.log10(np.cumsum((h[1:] ** 2)[::-1])[::-1])  # Schroeder backward integration
    edc -= edc[0]
    fit = (edc < -5) & (edc > -25)
    slope = np.polyfit(np.arange(len(edc))[fit] / RATE, edc[fit], 1)[0]  # dB per second
    assert -60 / slope == pytest.approx(rt60, rel=0.15)
    again = simulated_rir(RATE, rt60, np.random.default_rng(7), early_reflections=0)
    np.testing.assert_array_equal(again, h.astype(np.float32))


def test_limit_peak_scales_only_what_would_clip():
    loud = np.array([0.2, -1.5, 0.9], dtype=np.float32)
    out = limit_peak(loud)
    assert np.max(np.abs(out)) == pytest.approx(0.999, abs=1e-6)
    np.testing.assert_allclose(out / out[0], loud / loud[0], rtol=1e-6)
    quiet = np.array([0.2, -0.5], dtype=np.float32)
    np.testing.assert_array_equal(limit_peak(quiet), quiet)


# --- wav_perturb pipes and the in-process fast path ----------------------------------------------

@pytest.mark.parametrize("command,fast", [
    ("python -m serkit.bin.wav_perturb --speed 0.9 a.wav -", True),
    ("/opt/venv/bin/python3.11 -m serkit.bin.wav_perturb --noise 'n 1.wav' --snr 5 a.wav -", True),
    ("python -m serkit.bin.wav_perturb --speed 0.9 a.wav out.wav", False),
    ("python -m serkit.bin.wav_perturb --speed 0.9 a.wav - 2>/dev/null", False),
    ("cat a.wav | python -m serkit.bin.wav_perturb --speed 0.9 - -", False),
    ("python -m serkit.bin.wav_perturb --speed 0.9 a.wav - ; rm -rf x", False),
    ("python -m serkit.bin.wav_perturb --speed 0.9 $HOME/a.wav -", False),
    ("python -m serkit.bin.wav_perturb --speed 0.9 *.wav -", False),
    ("sox a.wav -t wav - speed 0.9", False),
])
def test_only_a_single_wav_perturb_command_takes_the_fast_path(command, fast):
    assert (command_argv(command) is not None) == fast


def test_fast_path_gives_the_samples_bash_gets(tmp_path, no_subprocess):
    sf.write(tmp_path / "a b.wav", voiced_signal(0.5), RATE, subtype="PCM_16")
    noise = _noise_dir(tmp_path)
    entry = (f"python -m serkit.bin.wav_perturb --speed 1.1 --sim-rt60 0.4 --sim-seed 3 --noise "
             f"'{read_table(noise / 'wav.scp')['n0']}' --noise-offset 0.1 --snr 5 '{tmp_path / 'a b.wav'}' - |")
    fast = load_audio(entry)  # no_subprocess: must not spawn
    assert abs(len(fast) - 8000 / 1.1) <= 1
    np.testing.assert_array_equal(fast, _bash_read(entry))
    with pytest.raises(AudioError, match="--noise and --snr"):
        load_audio(f"python -m serkit.bin.wav_perturb --noise x.wav '{tmp_path / 'a b.wav'}' - |")


def test_reading_a_perturbed_entry_does_not_import_torch(tmp_path):
    sf.write(tmp_path / "a.wav", voiced_signal(0.3), RATE, subtype="PCM_16")
    noise = read_table(_noise_dir(tmp_path) / "wav.scp")["n1"]
    entry = (f"python -m serkit.bin.wav_perturb --speed 1.2 --sim-rt60 0.3 --noise {noise} --snr 10 "
             f"{tmp_path / 'a.wav'} - |")
    code = f"import sys; from serkit.data.audio import load_audio; x = load_audio({entry!r}); " \
           "print(len(x), 'torch' in sys.modules)"
    proc = run_script([sys.executable, "-c", code])
    assert proc.stdout.split() == ["4000", "False"]


# --- data directory tools ------------------------------------------------------------------------

def test_perturb_entry_extends_a_single_command_or_chains():
    sp = perturb_entry("/d/a b.wav", ["--speed", "0.9"])
    assert sp == "python -m serkit.bin.wav_perturb --speed 0.9 '/d/a b.wav' - |"
    noise = ["--noise", "/n/x.wav", "--noise-offset", "1.5", "--snr", "10"]
    both = "python -m serkit.bin.wav_perturb --speed 0.9 --noise /n/x.wav --noise-offset 1.5 --snr 10 '/d/a b.wav' - |"
    assert perturb_entry(sp, noise) == both  # noise comes after speed: one command, read in-process
    noisy = perturb_entry("/d/a.wav", noise)
    assert perturb_entry(noisy, ["--speed", "1.1"]) == f"{noisy} python -m serkit.bin.wav_perturb --speed 1.1 - - |"
    assert perturb_entry("sox a.flac -t wav - |", ["--speed", "1.1"]) == (
        "sox a.flac -t wav - | python -m serkit.bin.wav_perturb --speed 1.1 - - |")


def test_perturb_data_dir_speed_shell(tmp_path, no_subprocess):
    src = make_data_dir(tmp_path, speakers=("spkA", "spkB"), utts_per_spk=2)
    _add_durations(src)
    write_table(src / "spk2gender", {"spkA": "f", "spkB": "m"})
    write_table(src / "utt2gender", {u: "f" if u.startswith("spkA") else "m" for u in read_table(src / "utt2spk")})
    for name in ("feats.scp", "utt2num_frames"):
        write_table(src / name, {u: "1" for u in read_table(src / "utt2spk")})
    dst = tmp_path / "sp"
    run_script([UTILS / "perturb_data_dir_speed.sh", "0.9", src, dst])
    run_script([UTILS / "validate_data_dir.sh", "--no-feats", dst])
    utt2spk = read_table(dst / "utt2spk")
    assert dict(utt2spk) == {f"sp0.9-{u}": f"sp0.9-{s}" for u, s in read_table(src / "utt2spk").items()}
    assert dict(read_table(dst / "spk2gender")) == {"sp0.9-spkA": "f", "sp0.9-spkB": "m"}
    for name in ("utt2emo", "text", "utt2gender"):
        assert {k[len("sp0.9-"):]: v for k, v in read_table(dst / name).items()} == dict(read_table(src / name))
    assert not any((dst / n).exists() for n in ("feats.scp", "cmvn.scp", "utt2num_frames"))
    src_wav, src_dur, dur = read_table(src / "wav.scp"), read_table(src / "utt2dur"), read_table(dst / "utt2dur")
    for utt, entry in read_table(dst / "wav.scp").items():
        orig = utt[len("sp0.9-"):]
        assert entry == f"python -m serkit.bin.wav_perturb --speed 0.9 {src_wav[orig]} - |"
        assert float(dur[utt]) == pytest.approx(float(src_dur[orig]) / 0.9, abs=0.001)
        samples = load_audio(entry)  # fast path
        assert len(samples) / RATE == pytest.approx(float(dur[utt]), abs=0.002)
    assert read_table(dst / "utt2aug")[utt] == "speed=0.9"
    np.testing.assert_array_equal(samples, _bash_read(entry))


def test_speed_copy_of_segments_and_pipes(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")  # as path.sh does
    src = make_data_dir(tmp_path, speakers=("spkA",), utts_per_spk=2)
    wav = read_table(src / "wav.scp")
    reco_path = wav["spkA-u01"]
    write_table(src / "wav.scp", {"rec1": f"cat {reco_path} |"})
    write_table(src / "reco2dur", {"rec1": "0.700"})
    write_table(src / "segments", {"spkA-u00": "rec1 0.00 0.30", "spkA-u01": "rec1 0.30 0.70"})
    dst = tmp_path / "sp"
    perturb_data_dir_speed(1.1, src, dst)
    assert validate_data_dir(dst, check_feats=False).ok
    d = DataDir(dst)
    assert dict(d.table("segments")) == {"sp1.1-spkA-u00": "sp1.1-rec1 0.000 0.273",
                                          "sp1.1-spkA-u01": "sp1.1-rec1 0.273 0.636"}
    assert d.table("reco2dur")["sp1.1-rec1"] == "0.636"
    entry = d.table("wav.scp")["sp1.1-rec1"]
    assert entry == f"cat {reco_path} | python -m serkit.bin.wav_perturb --speed 1.1 - - |"  # chained
    chained = AudioLoader(dict(d.table("wav.scp")), d.segments()).load("sp1.1-spkA-u01")  # runs bash
    whole = load_audio(f"python -m serkit.bin.wav_perturb --speed 1.1 {reco_path} - |")
    np.testing.assert_array_equal(chained, whole[int(round(0.273 * RATE)):int(round(0.636 * RATE))])


def test_augment_data_dir_shell(tmp_path, no_subprocess):
    src = make_data_dir(tmp_path, speakers=("spkA", "spkB"), utts_per_spk=2)
    _add_durations(src)
    noise = _noise_dir(tmp_path)
    dst = tmp_path / "aug"
    run_script([UTILS / "augment_data_dir.sh", "--noise-dir", noise, "--snrs", "10:0", "--sim-rir", "true",
                "--rt60s", "0.3:0.6", "--seed", "4", "--prefix", "rev", src, dst])
    run_script([UTILS / "validate_data_dir.sh", "--no-feats", dst])
    assert set(read_table(dst / "spk2utt")) == {"rev-spkA", "rev-spkB"}
    for name in ("utt2emo", "text", "utt2dur"):
        assert {k[len("rev-"):]: v for k, v in read_table(dst / name).items()} == dict(read_table(src / name))
    noise_wav = read_table(noise / "wav.scp")
    utt2aug = read_table(dst / "utt2aug")
    for utt, entry in read_table(dst / "wav.scp").items():
        fields = dict(f.split("=", 1) for f in utt2aug[utt].split() if "=" in f)
        assert fields["snr"] in ("10", "0") and fields["rt60"] in ("0.3", "0.6") and fields["rir"] == "sim"
        assert (f"--noise {noise_wav[fields['noise']]} --noise-offset {fields['offset']} --snr {fields['snr']}"
                in entry and f"--sim-rt60 {fields['rt60']} --sim-seed {fields['rir-seed']}" in entry)
        if fields["noise"] == "n1":  # the long noise: the offset leaves room for the whole utterance
            assert 0 <= float(fields["offset"]) <= 1.5 - float(read_table(dst / "utt2dur")[utt]) + 1e-3
        samples = load_audio(entry)  # fast path
        assert len(samples) == len(load_audio(read_table(src / "wav.scp")[utt[len("rev-"):]]))
    np.testing.assert_array_equal(samples, _bash_read(entry))
    assert not (dst / "HELD_OUT").exists()


def test_augment_data_dir_is_deterministic_per_seed(tmp_path):
    src = make_data_dir(tmp_path, speakers=("spkA", "spkB"), utts_per_spk=3)
    noise = _noise_dir(tmp_path)

    def run(name, seed, **kw):
        augment_data_dir(src, tmp_path / name, noise_dir=noise, seed=seed, **kw)
        return dict(read_table(tmp_path / name / "wav.scp")), dict(read_table(tmp_path / name / "utt2aug"))

    first, again, other = run("a", 1), run("b", 1), run("c", 2)
    assert first == again
    assert first[0] != other[0] and first[1] != other[1]
    with_rir = run("d", 1, sim_rir=True)[1]  # adding reverberation keeps the noise choices
    assert all(with_rir[u].startswith(first[1][u] + " rir=sim") for u in first[1])
    entry = next(iter(first[0].values()))
    np.testing.assert_array_equal(load_audio(entry), _bash_read(entry))  # noise only: a quick bash run


def test_held_out_noise_marks_what_is_made_with_it(tmp_path, caplog):
    src = make_data_dir(tmp_path, speakers=("spkA",), utts_per_spk=1)
    noise = _noise_dir(tmp_path)
    (noise / "HELD_OUT").write_text("held-out noise\n")
    with caplog.at_level(logging.WARNING):
        augment_data_dir(src, tmp_path / "test_noisy", noise_dir=noise)
    assert "never train" in caplog.text
    assert "held-out noise" in (tmp_path / "test_noisy" / "HELD_OUT").read_text()


def _noise_folder(root: Path) -> dict:
    """Noise recordings in three kinds of subfolder, plus a label file and a non-audio file."""
    folder = root / "noise_src"
    layout = {"esc": ["a/x1.flac", "a/x2.flac", "b/x3.flac", "x4.flac", "x5.flac", "x6.flac"],
              "household": ["aircon_0.wav", "street_1.wav", "vacuum.wav"], "white": ["w.wav"]}
    rng = np.random.default_rng(0)
    for group, files in layout.items():
        for i, name in enumerate(files):
            path = folder / group / name
            path.parent.mkdir(parents=True, exist_ok=True)
            sf.write(path, 0.1 * rng.standard_normal(1600 * (i + 1)), RATE, subtype="PCM_16")
    (folder / "esc" / "labels.csv").write_text("filename,category\n")
    (folder / "household" / "broken.wav").write_bytes(b"not audio at all")
    return layout


def test_prepare_noise_dir_split_is_disjoint_stratified_and_deterministic(tmp_path):
    layout = _noise_folder(tmp_path)
    folder, dst = tmp_path / "noise_src", tmp_path / "noise"
    proc = run_script([UTILS / "prepare_noise_dir.sh", "--test-fraction", "0.4", "--seed", "3", folder, dst])
    assert "household" in proc.stdout and "minutes" in proc.stdout
    train, test = (read_table(dst / s / "wav.scp") for s in ("train", "test"))
    assert not set(train) & set(test)
    assert len(train) + len(test) == 10  # every audio file, the label file and broken.wav left out
    assert "broken.wav" in (dst / "rejected.txt").read_text()
    for group, n_test in (("esc", 2), ("household", 1)):  # round(n * 0.4), on both sides
        assert sum(k.startswith(f"{group}-") for k in test) == n_test
        assert sum(k.startswith(f"{group}-") for k in train) == len(layout[group]) - n_test
    assert "white-w" in train  # a kind with one recording cannot be split
    assert "esc-a-x1" in set(train) | set(test) and train.get("esc-a-x1", test.get("esc-a-x1")).endswith("a/x1.flac")
    assert (dst / "test" / "HELD_OUT").exists() and not (dst / "train" / "HELD_OUT").exists()
    for split in ("train", "test"):
        report = validate_data_dir(dst / split, require_emo=False, check_feats=False)
        assert report.ok, report.errors
        assert all(u == s for u, s in read_table(dst / split / "utt2spk").items())
    assert read_table(dst / "train" / "utt2dur")["white-w"] == "0.100"
    prepare_noise_dir(folder, tmp_path / "again", test_fraction=0.4, seed=3)
    assert dict(read_table(tmp_path / "again" / "test" / "wav.scp")) == dict(test)
    prepare_noise_dir(folder, tmp_path / "other", test_fraction=0.4, seed=4)
    assert dict(read_table(tmp_path / "other" / "test" / "wav.scp")) != dict(test)
    prepare_noise_dir(folder, dst, test_fraction=0.0, seed=3)  # rerun in place: all to train
    assert len(read_table(dst / "train" / "wav.scp")) == 10 and not (dst / "test" / "wav.scp").exists()

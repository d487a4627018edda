"""The demo corpus synthesizer (egs/demo/local): deterministic, consistent Kaldi data directories,
emotions that are rendered in prosody and voice quality, and no loudness shortcut.

A 96-utterance corpus (6 speakers x 4 emotions x 2 sentences x 2 repetitions) is synthesized once
per module (~4 s); the acoustic checks measure it with a small numpy pitch/tilt analyser.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "egs" / "demo" / "local"))

import emotion_profiles as ep  # noqa: E402
import make_corpus  # noqa: E402
import transcripts as tr  # noqa: E402
import voice_synth as vs  # noqa: E402
from serkit.data.table import first_unsorted, invert_multimap, read_table  # noqa: E402
from serkit.data.validate import validate_data_dir  # noqa: E402

TABLES = ("wav.scp", "utt2spk", "utt2emo", "utt2gender", "text", "utt2dur")
EMOTIONS = ("angry", "happy", "neutral", "sad")


def _make(root: Path, *args: str) -> Path:
    assert make_corpus.main([*args, str(root / "corpus"), str(root / "data")]) == 0
    return root


def _wavs(root: Path):
    return {p.name: p.read_bytes() for p in sorted((root / "corpus" / "wav").glob("*/*.wav"))}


# ---------------------------------------------------------------- small numpy analyser


def _frames(x: np.ndarray, sr: int, win: float = 0.04, hop: float = 0.01) -> np.ndarray:
    w, h = int(win * sr), int(hop * sr)
    n = 1 + max(0, (len(x) - w) // h)
    return x[np.arange(w)[None, :] + h * np.arange(n)[:, None]]


def pitch(x: np.ndarray, sr: int, fmin: float = 70.0, fmax: float = 500.0) -> np.ndarray:
    """F0 (Hz) per 10 ms frame by autocorrelation of Hann-windowed 40 ms frames; 0 = unvoiced."""
    fr = _frames(x, sr)
    fr = fr - fr.mean(1, keepdims=True)
    energy = (fr ** 2).sum(1)
    n = fr.shape[1]
    ac = np.fft.irfft(np.abs(np.fft.rfft(fr * np.hanning(n), 2 * n)) ** 2)[:, :n]
    ac = ac / (ac[:, :1] + 1e-12)
    lo, hi = int(sr / fmax), int(sr / fmin)
    lag = lo + np.argmax(ac[:, lo:hi], axis=1)
    voiced = (ac[np.arange(len(ac)), lag] > 0.5) & (energy > energy.max() * 1e-2)
    return np.where(voiced, sr / lag, 0.0)


def features(x: np.ndarray, sr: int) -> dict:
    f0 = pitch(x, sr)
    st = 12 * np.log2(f0[f0 > 0] / 100.0)
    median = np.median(st)
    st = st[np.abs(st - median) < 6]  # drop octave errors before the spread
    spec = np.abs(np.fft.rfft(_frames(x, sr)[f0 > 0] * np.hanning(int(0.04 * sr)), axis=1)) ** 2
    freq = np.fft.rfftfreq(int(0.04 * sr), 1 / sr)
    tilt = 10 * np.log10(spec[:, freq >= 1000].sum() / spec[:, (freq >= 50) & (freq < 1000)].sum())
    return {"f0": median, "f0_std": st.std(), "dur": len(x) / sr, "tilt": tilt,
            "rms_db": 20 * np.log10(np.sqrt(np.mean(x ** 2))), "peak": np.abs(x).max()}


def speaker_norm(X: np.ndarray, spk: np.ndarray) -> np.ndarray:
    X = X.copy()
    for s in np.unique(spk):
        X[spk == s] = (X[spk == s] - X[spk == s].mean(0)) / (X[spk == s].std(0) + 1e-9)
    return X


def loso_nearest_centroid(X: np.ndarray, y: np.ndarray, spk: np.ndarray) -> float:
    """Leave-one-speaker-out accuracy of a nearest-class-mean rule."""
    correct = 0
    for s in np.unique(spk):
        train = spk != s
        classes = np.unique(y[train])
        centroids = np.stack([X[train & (y == c)].mean(0) for c in classes])
        dist = ((X[spk == s][:, None, :] - centroids[None]) ** 2).sum(-1)
        correct += int((classes[dist.argmin(1)] == y[spk == s]).sum())
    return correct / len(y)


# ---------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("demo")
    return _make(root, "--seed", "777", "--num-speakers", "6", "--num-sentences", "2", "--repetitions", "2",
                 "--nj", "1")


@pytest.fixture(scope="module")
def measured(corpus):
    rows = []
    for path in sorted((corpus / "corpus" / "wav").glob("*/*.wav")):
        x, sr = sf.read(path)
        spk, emo, sent, rep = path.stem.split("-")
        rows.append(dict(features(x, sr), spk=spk, emo=emo, sent=sent, rep=rep, sr=sr, shape=x.shape,
                         finite=bool(np.isfinite(x).all())))
    assert len(rows) == 96
    return rows


# ---------------------------------------------------------------- tests


def test_deterministic_and_independent_of_nj(tmp_path):
    tiny = ("--num-speakers", "4", "--num-sentences", "1", "--repetitions", "1", "--emotions", "angry,sad")
    a = _make(tmp_path / "a", "--seed", "5", "--nj", "1", *tiny)
    b = _make(tmp_path / "b", "--seed", "5", "--nj", "2", *tiny)
    c = _make(tmp_path / "c", "--seed", "6", "--nj", "1", *tiny)
    wa, wb, wc = _wavs(a), _wavs(b), _wavs(c)
    assert sorted(wa) == [f"{s}-{e}-s01-r1.wav" for s in ("f01", "f02", "m01", "m02") for e in ("angry", "sad")]
    assert wa == wb  # byte-identical for nj=1 and nj=2
    assert sorted(wc) == sorted(wa) and all(wa[k] != wc[k] for k in wa)  # another seed: other audio
    for name in ("utt2spk", "utt2emo", "text", "utt2dur"):
        for split in ("train", "test"):
            assert (a / "data" / split / name).read_bytes() == (b / "data" / split / name).read_bytes()
    # 2 speakers per gender: train and test get one each; dev is left out
    assert (a / "data" / "test" / "spk2utt").read_text().split()[::3] == ["f02", "m02"]
    assert not (a / "data" / "dev").exists()


def test_data_dirs_are_consistent(corpus):
    data = corpus / "data"
    seen = {}
    for split in ("train", "dev", "test"):
        d = data / split
        tables = {name: read_table(d / name) for name in TABLES}
        utt2spk = tables["utt2spk"]
        for name, table in tables.items():
            assert list(table) == list(utt2spk), f"{split}/{name}: keys differ from utt2spk"
            assert first_unsorted(table) is None
        assert dict(read_table(d / "spk2utt")) == invert_multimap(utt2spk)
        assert first_unsorted(read_table(d / "spk2utt")) is None
        seen[split] = sorted(set(utt2spk.values()))
        for utt, spk in utt2spk.items():
            spk_id, emo, sent, rep = utt.split("-")
            assert spk_id == spk and tables["utt2emo"][utt] == emo and tables["utt2gender"][utt] == spk[0]
            assert sent in ("s01", "s02") and rep in ("r1", "r2") and emo in EMOTIONS
            _check_transcript(tables["text"][utt], int(sent[1:]) - 1)
            wav = Path(tables["wav.scp"][utt])
            assert wav.is_absolute() and wav.is_file()
            info = sf.info(str(wav))
            assert (info.samplerate, info.channels, info.subtype) == (16000, 1, "PCM_16")
            assert tables["utt2dur"][utt] == f"{info.frames / 16000:.3f}"
        assert dict(read_table(d / "spk2gender")) == {s: s[0] for s in seen[split]}
        report = validate_data_dir(d)
        assert report.ok, report.errors
    assert seen == {"train": ["f01", "m01"], "dev": ["f02", "m02"], "test": ["f03", "m03"]}
    assert sum(len(read_table(data / s / "utt2spk")) for s in seen) == 96


def _check_transcript(text: str, template: int) -> None:
    """``text`` is template ``template`` with two slot words filled in."""
    fixed = tr.TEMPLATES[template].text.split()
    words = text.split()
    assert len(words) == len(fixed)
    slots = [w for w, f in zip(words, fixed) if f.startswith("{")]
    assert [w for w, f in zip(words, fixed) if not f.startswith("{")] == [f for f in fixed if not f.startswith("{")]
    assert len(slots) == 2 and all(tr.word_emotion(w) for w in slots), text


def test_transcripts_carry_some_but_not_all_of_the_emotion():
    emotions = list(ep.DEFAULT_EMOTIONS)
    rng = np.random.default_rng(0)
    draws = [(e, tr.draw_transcript(e, i % len(tr.TEMPLATES), emotions, rng)) for i in range(4000) for e in emotions]
    cats = np.array([c for _, t in draws for c in t.slots])
    own = np.array([c == e for e, t in draws for c in t.slots])
    assert abs(own.mean() - 0.5 * 0.85) < 0.02  # congruent words, after the all-filler sentences
    assert abs((cats == "filler").mean() - (0.15 + 0.85 * 0.3)) < 0.02
    # a word-vote reader (the majority emotion of the slot words; guess 'neutral' on fillers only)
    # is right far above chance (0.25) but far from always; the exact Bayes decision: 0.609
    right = []
    for e, t in draws:
        votes = [c for c in t.slots if c != "filler"]
        guess = max(sorted(set(votes)), key=votes.count) if votes else "neutral"
        right.append(guess == e)
    assert 0.5 < np.mean(right) < 0.7, np.mean(right)
    assert 0.55 < tr.bayes_text_accuracy(4) < 0.65
    # the words are what is said: the transcript's syllables parse, with the words' stress
    for _, t in draws[:200]:
        sylls = vs.parse_syllables(t.syllables)
        assert 7 <= len(sylls) <= 8 and sum(s.stress for s in sylls) >= 3
        spoken = "".join(t.syllables.replace("|", "").split())
        for word in t.text.split():
            if tr.word_emotion(word):
                assert "".join(tr.WORDS[tr.word_emotion(word)][word].split()) in spoken
    # only the corpus's emotions mislead: in an angry/sad corpus a misleading word is angry or sad
    two = [tr.draw_transcript("sad", 0, ["angry", "sad"], rng) for _ in range(300)]
    assert {c for t in two for c in t.slots} == {"angry", "sad", "filler"}


def test_audio_is_sane(measured):
    for row in measured:
        assert row["finite"] and row["shape"] == (int(round(row["dur"] * 16000)),) and row["sr"] == 16000
        assert row["peak"] < 0.99, "clipped"  # soft limiter keeps peaks below full scale
        assert 1.0 < row["dur"] < 3.6
        assert -33.0 < row["rms_db"] < -19.0  # the drawn level range is -32..-20 dBFS


def _paired(measured, key: str, high: str, low: str) -> np.ndarray:
    """``key`` of emotion ``high`` minus that of ``low``, for the same speaker, sentence and repetition."""
    by = {(r["spk"], r["sent"], r["rep"], r["emo"]): r[key] for r in measured}
    return np.array([v - by[(s, se, re, low)] for (s, se, re, e), v in by.items() if e == high])


def test_emotion_is_rendered_in_pitch_and_tempo(measured):
    # Measured on this 96-utterance sample (seed 777; 24 pairs each): angry - sad F0 median +7.9 st
    # (23/24 pairs positive), happy - sad +6.7 st (24/24), sad - angry duration +0.84 s (24/24),
    # angry - sad tilt +10.2 dB. Seeds 1-8 give +7.8..8.9 st, +6.5..7.3 st, +0.81..0.96 s, 8.6..9.9 dB.
    # (Pairs share speaker, template and repetition; their slot words differ, but every slot word
    # has two syllables.)
    for high in ("angry", "happy"):
        diff = _paired(measured, "f0", high, "sad")
        assert diff.mean() > 3.0 and (diff > 0).mean() >= 0.9, (high, diff)
    slower = _paired(measured, "dur", "sad", "angry")
    assert slower.mean() > 0.3 and (slower > 0).mean() >= 0.9, slower
    # voice quality: angry (tense, flat tilt) has relatively more energy above 1 kHz than sad (lax)
    assert _paired(measured, "tilt", "angry", "sad").mean() > 3.0


def test_learnable_from_prosody_but_not_from_loudness(measured):
    emo = np.array([r["emo"] for r in measured])
    spk = np.array([r["spk"] for r in measured])
    rms = np.array([[r["rms_db"]] for r in measured])
    prosody = np.array([[r["f0"], r["f0_std"], r["dur"], r["tilt"]] for r in measured])
    # Leave-one-speaker-out nearest-centroid accuracy, chance 0.25. Measured on this sample (seed
    # 777): RMS dB 0.28 (speaker-normalised 0.31), prosody 0.89; seeds 1-8: RMS 0.16-0.35
    # (normalised 0.14-0.35), prosody 0.84-0.91. Full default corpus (480 utterances, 10
    # speakers): RMS 0.26, prosody 0.84 (0.41 without speaker normalisation).
    loudness = loso_nearest_centroid(rms, emo, spk)
    assert loudness < 0.42, loudness
    assert loso_nearest_centroid(speaker_norm(rms, spk), emo, spk) < 0.42
    accuracy = loso_nearest_centroid(speaker_norm(prosody, spk), emo, spk)
    assert accuracy > 0.65, accuracy


def test_bad_arguments_fail_with_one_line(tmp_path, capsys):
    for bad in (["--emotions", "neutral,bored"], ["--num-speakers", "3"], ["--num-sentences", "9"]):
        assert make_corpus.main([*bad, str(tmp_path / "c"), str(tmp_path / "d")]) == 1
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("make_corpus.py: error:"), err
    assert not (tmp_path / "d").exists()


def test_profiles_and_templates():
    assert [s.spk_id for s in ep.select_speakers(10)] == [f"f0{i}" for i in range(1, 6)] + [
        f"m0{i}" for i in range(1, 6)]
    assert ep.split_speakers(ep.select_speakers(10)) == {
        "train": ["f01", "f02", "f03", "m01", "m02", "m03"], "dev": ["f04", "m04"], "test": ["f05", "m05"]}
    assert ep.parse_emotions("neutral,happy,angry,sad,fear") == ["neutral", "happy", "angry", "sad", "fear"]
    for template in tr.TEMPLATES:
        sylls = vs.parse_syllables(template.syllables.format("'a ba", "'a ba"))
        assert 7 <= len(sylls) <= 8 and any(s.stress for s in sylls) and template.text.islower()
        assert template.text.count("{") == template.syllables.count("{") == 2
    for words in tr.WORDS.values():
        for word, spec in words.items():
            sylls = vs.parse_syllables(spec)
            assert len(sylls) == 2 and sylls[0].stress and not sylls[1].stress and word.isalpha(), word
    assert vs.parse_syllables("'shae") == [vs.Syllable(("sh",), "ae", True, False)]
    with pytest.raises(ValueError):
        vs.parse_syllables("kq")
    # prosody draws are reproducible and respect the limits
    p1 = ep.draw_prosody("fear", ep.SPEAKERS[0], np.random.default_rng(1))
    p2 = ep.draw_prosody("fear", ep.SPEAKERS[0], np.random.default_rng(1))
    assert p1 == p2 and 0.0 <= p1.tilt <= 0.9 and p1.tremor_st >= 0.0


def test_formant_cascade_is_exact_recursion():
    """Block-wise coefficient updates must reproduce one long filter when the formants hold still."""
    from scipy import signal

    x = np.random.default_rng(0).standard_normal(1000)
    formants = np.tile([500.0, 1500.0, 2500.0], (13, 1))
    bandwidths = np.tile([60.0, 90.0, 120.0], (13, 1))
    y = vs.formant_cascade(x, formants, bandwidths, hop=80, sr=16000)
    ref = x
    for f, b in zip(formants[0], bandwidths[0]):
        g, a1, a2 = vs._resonator(f, b, 16000)
        ref = signal.lfilter([g], [1.0, a1, a2], ref)
    np.testing.assert_allclose(y, ref, rtol=0, atol=1e-9)

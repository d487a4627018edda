"""Recipes for corpora that are not on this machine run unchanged on fake trees with the
official layout: data preparation, features and CMVN, and speaker-independent folds."""
import json
import os
import subprocess
import sys
from pathlib import Path

import kaldiio
import numpy as np
import pytest
import soundfile as sf

from conftest import REPO, TINY_RECIPE_CONFIG, copy_recipe, make_crema, make_iemocap, make_ravdess, make_tess, write_audio
from serkit.baseline.opensmile_svm import available as baseline_missing


@pytest.mark.parametrize("corpus, maker, option, folds", [
    ("ravdess", make_ravdess, "--ravdess-root", 6),
    ("tess", make_tess, "--tess-root", 2),
    ("crema_d", make_crema, "--crema-d-root", 5),
    ("iemocap", make_iemocap, "--iemocap-root", 5),
])
def test_recipe_prepares_features_and_folds(tmp_path, corpus, maker, option, folds):
    root = maker(tmp_path / "release")
    recipe = copy_recipe(corpus, tmp_path / "egs")
    env = dict(os.environ, SERKIT_ROOT=str(REPO), PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}")
    proc = subprocess.run(["./run.sh", option, str(root), "--stop-stage", "3", "--nj", "1"],
                          cwd=recipe, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert (recipe / "data" / "all" / "feats.scp").is_file() and (recipe / "data" / "all" / "cmvn.scp").is_file()
    made = sorted(p.name for p in (recipe / "data" / "folds").glob("fold*") if p.is_dir())
    assert len(made) == folds
    for fold in made:
        assert (recipe / "data" / "folds" / fold / "test" / "feats.scp").is_file()


def test_recipe_trains_scores_and_skips_finished_stages_on_rerun(tmp_path):
    """Stages 4-8 of the shared body on TESS's layout (2 cross-speaker folds, a tiny model); a
    rerun leaves trained and scored configs alone, so their recorded training time survives. With
    the baseline installed, stage 6 also fuses the model with it (tiny+svm)."""
    root = make_tess(tmp_path / "release")
    recipe = copy_recipe("tess", tmp_path / "egs")
    (recipe / "conf" / "tiny.yaml").write_text(TINY_RECIPE_CONFIG)
    env = dict(os.environ, SERKIT_ROOT=str(REPO), PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}")
    baseline = "false" if baseline_missing() else "true"
    cmd = ["./run.sh", "--tess-root", str(root), "--nj", "1", "--train-configs", "conf/tiny.yaml", "--", "--baseline", baseline,
           "--robust-rt60s", "0.6"]
    first = subprocess.run(cmd, cwd=recipe, env=env, capture_output=True, text=True)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    exp = recipe / "exp" / "tiny"
    assert len(list(exp.glob("fold*/final.pt"))) == 2
    results = (recipe / "RESULTS.md").read_text()
    assert "| tiny | parallel_crnn |" in results and "cross-speaker" in results
    assert (exp / "results_rt0.6" / "summary.json").is_file() and "| config | clean | RT60 0.6 s |" in results
    assert "rir=sim rt60=0.6" in (recipe / "data" / "all_rt0.6" / "utt2aug").read_text()  # reverberated audio
    if baseline == "true":
        assert (recipe / "exp" / "tiny+svm" / "fold2" / "decode_test" / "posteriors.scp").is_file()
        assert "| tiny+svm | parallel_crnn + openSMILE SVM, posteriors averaged |" in results
        for tag in ("baseline_svm", "tiny+svm"):  # the SVM and the fusion on the reverberated test sets too
            assert (recipe / "exp" / tag / "results_rt0.6" / "summary.json").is_file(), tag
            assert [line for line in results.splitlines() if line.startswith(f"| {tag} | ") and line.count("|") == 4], tag
    (exp / "train_wall_seconds").write_text("1234\n")  # a marker: a retrain would overwrite it
    stamp = (exp / "results" / "summary.json").stat().st_mtime_ns
    second = subprocess.run(["./run.sh", "--tess-root", str(root), "--stage", "4", "--nj", "1",
                             "--train-configs", "conf/tiny.yaml", "--", "--baseline", baseline, "--robust-rt60s", "0.6"],
                            cwd=recipe, env=env, capture_output=True, text=True)
    assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-3000:]
    assert "tiny is trained on all 2 folds" in second.stdout and "tiny is scored" in second.stdout
    assert baseline == "false" or "tiny+svm is scored" in second.stdout
    assert (exp / "train_wall_seconds").read_text().strip() == "1234"
    assert (exp / "results" / "summary.json").stat().st_mtime_ns == stamp
    assert "20.6 min" in (recipe / "RESULTS.md").read_text()  # 1234 s, from the kept record


def test_recipe_body_says_what_is_missing_before_it_runs(tmp_path):
    """Stages that need folds, run before stage 3 made them, stop with a message naming the folder
    (not a silent exit); a --svm-denoise-conf that does not denoise fails before anything runs."""
    recipe = copy_recipe("tess", tmp_path / "egs")
    env = dict(os.environ, SERKIT_ROOT=str(REPO), PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}")
    ser = ["./ser.sh", "--data", "all", "--stage", "6", "--stop-stage", "6"]
    early = subprocess.run(ser, cwd=recipe, env=env, capture_output=True, text=True)
    assert early.returncode != 0 and "no folds in data/folds; run stage 3" in early.stderr, early.stderr[-2000:]
    plain = subprocess.run(ser + ["--svm-denoise-conf", "conf/feats.yaml"], cwd=recipe, env=env, capture_output=True, text=True)
    assert plain.returncode != 0 and "--svm-denoise-conf conf/feats.yaml: its denoise: section does not say" in plain.stderr
    missing = subprocess.run(ser + ["--svm-denoise-conf", "conf/nowhere.yaml"], cwd=recipe, env=env, capture_output=True, text=True)
    assert missing.returncode != 0 and "--svm-denoise-conf conf/nowhere.yaml: config file not found" in missing.stderr


def make_emodb(root):
    """A fake EmoDB release: three speakers, three emotions, two texts (``<root>/wav/03a01Wa.wav``)."""
    for spk in ("03", "08", "09"):
        for text in ("a01", "b02"):
            for letter in "WTN":
                write_audio(root / "wav" / f"{spk}{text}{letter}a.wav", 16000)
    return root


def recipe_with_noise(tmp_path, noise_files, corpus="tess", maker=make_tess):
    """A fake release of the corpus (TESS unless told), a folder of white-noise files in two kinds, the
    recipe copied, its environment, and the run.sh command up to the folds (stage 3) with --noise-root."""
    root = maker(tmp_path / "release")
    noise = tmp_path / "noise"
    rng = np.random.default_rng(0)
    for i in range(noise_files):
        (noise / f"kind{i % 2}").mkdir(parents=True, exist_ok=True)
        sf.write(str(noise / f"kind{i % 2}" / f"n{i}.wav"), 0.1 * rng.standard_normal(16000 * 2), 16000)
    recipe = copy_recipe(corpus, tmp_path / "egs")
    env = dict(os.environ, SERKIT_ROOT=str(REPO), PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}")
    base = ["./run.sh", f"--{corpus.replace('_', '-')}-root", str(root), "--stop-stage", "3", "--nj", "1", "--",
            "--noise-root", str(noise)]
    return root, recipe, env, base


def copy_snrs(recipe, *copies):
    """The SNRs (dB) drawn for the noisy training copies data/<copy> (from their utt2aug)."""
    return {float(field[len("snr="):]) for copy in copies
            for line in (recipe / "data" / copy / "utt2aug").read_text().splitlines()
            for field in line.split() if field.startswith("snr=")}


def test_noise_root_trains_on_noisy_copies_by_default(tmp_path):
    """A noise folder switches the recipe to multi-condition training (issue 14's default): every
    fold's training set gains a noisy copy of each utterance, at 10, 5 or 0 dB; --noise-aug false keeps
    it clean."""
    root, recipe, env, base = recipe_with_noise(tmp_path, noise_files=4)
    first = subprocess.run(base, cwd=recipe, env=env, capture_output=True, text=True)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    assert "for the models (--noise-aug) true, for the SVM (--svm-train-aug) true" in first.stdout
    fold = recipe / "data" / "folds" / "fold1"
    clean = (fold / "train" / "utt2emo").read_text().splitlines()
    both = (fold / "train_aug" / "utt2emo").read_text().splitlines()
    noisy = [line for line in both if line.startswith("noise-")]
    assert len(noisy) == len(clean) and len(both) == 2 * len(clean)
    assert sorted(line[len("noise-"):] for line in noisy) == sorted(clean)  # the same labels, utterance by utterance
    snrs = copy_snrs(recipe, "all_noise")
    assert snrs and snrs <= {10.0, 5.0, 0.0}, snrs
    second = subprocess.run(base[:2] + [str(root), "--stage", "3", "--stop-stage", "3", "--nj", "1", "--",  # the folds again
                                        "--noise-root", base[-1], "--noise-aug", "false"],
                            cwd=recipe, env=env, capture_output=True, text=True)
    assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-3000:]
    assert not (fold / "train_aug").exists()
    wrong = subprocess.run(base + ["--noise-aug", "yes"], cwd=recipe, env=env, capture_output=True, text=True)
    assert wrong.returncode != 0 and "--noise-aug 'yes' is not auto, true or false" in wrong.stderr


def test_noise_copies_gives_each_utterance_several_different_noisy_copies(tmp_path):
    """--noise-copies 2: two noisy copies of every training utterance, mixed with different noise
    (seed per copy), both in every fold's train_aug; a count that is not one fails with the option."""
    _, recipe, env, base = recipe_with_noise(tmp_path, noise_files=6)
    run = subprocess.run(base + ["--noise-copies", "2"], cwd=recipe, env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    fold = recipe / "data" / "folds" / "fold1"
    clean = (fold / "train" / "utt2emo").read_text().splitlines()
    both = (fold / "train_aug" / "utt2emo").read_text().splitlines()
    for prefix in ("noise-", "noise2-"):
        copy = sorted(line[len(prefix):] for line in both if line.startswith(prefix))
        assert copy == sorted(clean)
    assert len(both) == 3 * len(clean)
    first = dict(kaldiio.load_scp(str(recipe / "data" / "all_noise" / "feats.scp")))
    second = dict(kaldiio.load_scp(str(recipe / "data" / "all_noise2" / "feats.scp")))
    utt = sorted(first)[0]
    assert utt.startswith("noise-") and "noise2-" + utt[len("noise-"):] in second
    assert not np.allclose(first[utt], second["noise2-" + utt[len("noise-"):]])  # other noise, not a duplicate
    wrong = subprocess.run(base + ["--noise-copies", "0"], cwd=recipe, env=env, capture_output=True, text=True)
    assert wrong.returncode != 0 and "--noise-copies '0' is not a count from 1 to 99" in wrong.stderr


@pytest.mark.skipif(bool(baseline_missing()), reason="the baseline needs opensmile and scikit-learn (extras: baseline)")
def test_svm_noise_copies_trains_the_svm_on_the_first_copies_only(tmp_path):
    """--svm-noise-copies 1 with --noise-copies 2: the models' folds keep both noisy copies, the SVM trains
    on the first; a rerun with another count (or --svm-denoise-conf) trains the SVM again; more copies
    than there are fails."""
    _, recipe, env, base = recipe_with_noise(tmp_path, noise_files=4)
    first = subprocess.run(base + ["--noise-copies", "2", "--svm-noise-copies", "1"], cwd=recipe, env=env,
                           capture_output=True, text=True)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    assert "noisy training copies: the models 2, the SVM 1" in first.stdout
    both = (recipe / "data" / "folds" / "fold1" / "train_aug" / "utt2emo").read_text()
    assert "noise-" in both and "noise2-" in both
    svm = base[:2] + [base[2], "--stage", "5", "--stop-stage", "5", "--nj", "1", "--", "--noise-root", base[-1],
                      "--noise-copies", "2", "--svm-noise-copies"]
    info = recipe / "exp" / "baseline_svm" / "model_info.json"
    scored = recipe / "exp" / "baseline_svm" / "results" / "summary.json"  # stage 6's: what makes stage 5 skip
    for count, copies in (("1", ["noise-=data/all_noise"]), ("all", ["noise-=data/all_noise", "noise2-=data/all_noise2"])):
        run = subprocess.run(svm + [count], cwd=recipe, env=env, capture_output=True, text=True)
        assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
        assert "skipped" not in run.stdout  # the second count retrains the SVM of the first, scored or not
        assert json.loads(info.read_text())["train_copies"] == copies
        scored.parent.mkdir(exist_ok=True)
        scored.write_text("{}\n")
    again = subprocess.run(svm + ["all"], cwd=recipe, env=env, capture_output=True, text=True)
    assert again.returncode == 0 and "baseline_svm is newer than the folds; skipped" in again.stdout
    ss = recipe / "conf" / "feats_denoise.yaml"  # --svm-denoise-conf: functionals of denoised audio, trained again
    ss.write_text("denoise:\n  enabled: true\n")
    denoised = subprocess.run(svm + ["all", "--svm-denoise-conf", str(ss)], cwd=recipe, env=env, capture_output=True, text=True)
    assert denoised.returncode == 0, denoised.stdout[-3000:] + denoised.stderr[-3000:]
    assert "skipped" not in denoised.stdout and "functionals of spectrally subtracted audio" in denoised.stdout
    assert json.loads(info.read_text())["denoise_config"] == str(ss)
    wrong = subprocess.run(svm + ["3"], cwd=recipe, env=env, capture_output=True, text=True)
    assert wrong.returncode != 0 and "--svm-noise-copies 3 is more than --noise-copies 2" in wrong.stderr
    unused = subprocess.run(svm[:-1] + ["--svm-train-aug", "false", "--svm-noise-copies", "1"], cwd=recipe, env=env,
                            capture_output=True, text=True)
    assert unused.returncode == 0, unused.stdout[-3000:] + unused.stderr[-3000:]
    assert "--svm-noise-copies 1 is ignored" in unused.stdout
    assert json.loads(info.read_text())["train_copies"] == []  # retrained on clean speech only


def test_emodb_recipe_trains_on_two_noisy_copies_at_low_snrs_by_default(tmp_path):
    """EmoDB's recipe default with a noise folder (issue 14, confirmed on its ten folds): two noisy
    copies of every training utterance, each at 10, 5 or 0 dB; options after -- still override it."""
    _, recipe, env, base = recipe_with_noise(tmp_path, noise_files=4, corpus="emodb", maker=make_emodb)
    run = subprocess.run(base, cwd=recipe, env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    fold = recipe / "data" / "folds" / "fold1"
    clean = (fold / "train" / "utt2emo").read_text().splitlines()
    both = (fold / "train_aug" / "utt2emo").read_text().splitlines()
    assert len(clean) == 12 and len(both) == 3 * len(clean)
    snrs = copy_snrs(recipe, "all_noise", "all_noise2")
    assert snrs and snrs <= {10.0, 5.0, 0.0}, snrs
    again = subprocess.run(base[:2] + [base[2], "--stage", "3", "--stop-stage", "3", "--nj", "1", "--", "--noise-root",
                                       base[-1], "--noise-copies", "1"], cwd=recipe, env=env, capture_output=True, text=True)
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    assert len((fold / "train_aug" / "utt2emo").read_text().splitlines()) == 2 * len(clean)

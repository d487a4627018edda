"""The classical baseline (openSMILE functionals + SVM) on the recipe's folds."""
import json
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import make_data_dir, run_script
from serkit.baseline.opensmile_svm import available, extract_functionals, standardise_per_speaker
from serkit.data.table import read_table, write_table
from serkit.feats.ark import load_scp
from serkit.score.late_fusion import read_posteriors

pytestmark = pytest.mark.skipif(available() is not None, reason=f"baseline extra not installed ({available()})")


def test_per_speaker_standardisation():
    rng = np.random.default_rng(0)
    feats = {f"{s}-{i}": rng.normal(5 if s == "a" else -3, 2, 4) for s in "ab" for i in range(6)}
    out = standardise_per_speaker(feats, {u: u[0] for u in feats})
    for spk in "ab":
        mat = np.stack([v for u, v in out.items() if u[0] == spk])
        np.testing.assert_allclose(mat.mean(0), 0, atol=1e-9)
        np.testing.assert_allclose(mat.std(0), 1, atol=1e-9)


def test_baseline_cli_on_folds(tmp_path):
    d = make_data_dir(tmp_path, "all", speakers=("s1", "s2", "s3", "s4"), utts_per_spk=6, seconds=0.5)
    run_script([sys.executable, "-m", "serkit.bin.make_folds", "--scheme", "loso", d, tmp_path / "folds"])
    proc = run_script([sys.executable, "-m", "serkit.bin.baseline_svm", "--feature-set", "eGeMAPSv02", d, tmp_path / "folds", tmp_path / "exp"])
    assert "4 folds scored" in proc.stdout
    for k in range(1, 5):
        preds = read_table(tmp_path / "exp" / f"fold{k}" / "decode_test" / "utt2pred")
        test = read_table(tmp_path / "folds" / f"fold{k}" / "test" / "utt2spk")
        assert set(preds) == set(test) and set(preds.values()) <= {"angry", "sad"}
        post = read_posteriors(tmp_path / "exp" / f"fold{k}" / "decode_test")  # calibrated, for fusion
        assert post.utts == sorted(test) and sorted(post.labels) == ["angry", "sad"]
        assert np.allclose(post.probs.sum(axis=1), 1.0, atol=1e-5) and (post.probs >= 0).all()
    assert (tmp_path / "exp" / "functionals" / "eGeMAPSv02.scp").exists()
    again = run_script([sys.executable, "-m", "serkit.bin.baseline_svm", "--feature-set", "eGeMAPSv02", d, tmp_path / "folds", tmp_path / "exp"])
    assert "4 folds scored" in again.stdout  # from the cached functionals


def test_softmax_temperature_fits_confidence():
    """Decision values that are right 3 times in 4: the fitted softmax gives the right class about
    0.75 on average, neither sharper (over-confident) nor flatter."""
    from serkit.baseline.opensmile_svm import softmax_temperature

    rng = np.random.default_rng(0)
    labels = rng.integers(0, 3, 4000)
    right = rng.random(4000) < 0.75
    top = np.where(right, labels, (labels + rng.integers(1, 3, 4000)) % 3)
    decisions = np.zeros((4000, 3))
    decisions[np.arange(4000), top] = 2.0
    t = softmax_temperature(decisions, labels)
    z = np.exp(decisions / t)
    p_top = (z[np.arange(4000), top] / z.sum(axis=1)).mean()
    assert abs(p_top - right.mean()) < 0.01
    assert softmax_temperature(decisions, top) < t  # always right: sharper


def test_precomputed_kernel_gives_sklearns_rbf_svm():
    """train_and_predict fits on RbfKernel's precomputed kernel: the same SVM as sklearn's own
    ``kernel="rbf", gamma="scale"`` on the same data (decisions and decision values)."""
    from sklearn.svm import SVC

    from serkit.baseline.opensmile_svm import RbfKernel, train_and_predict

    rng = np.random.default_rng(0)
    labels = ["angry", "happy", "sad"]
    feats, utt2emo = {}, {}
    for i in range(90):
        label = labels[i % 3]
        feats[f"u{i:02d}"] = rng.normal(0.8 * labels.index(label), 1.0, 20)
        utt2emo[f"u{i:02d}"] = label
    utts = sorted(feats)
    train, dev, test = utts[:50], utts[50:70], utts[70:]
    result = train_and_predict(RbfKernel(feats), utt2emo, train, dev, test)
    fit = train + dev
    x = np.stack([feats[u] for u in fit])
    ref = SVC(C=result.c, kernel="rbf", gamma="scale", class_weight="balanced").fit(x, [utt2emo[u] for u in fit])
    x_test = np.stack([feats[u] for u in test])
    assert [result.decisions[u] for u in test] == list(ref.predict(x_test))
    want = ref.decision_function(x_test) / result.temperature
    want = np.exp(want - want.max(axis=1, keepdims=True))
    np.testing.assert_allclose(result.posteriors, want / want.sum(axis=1, keepdims=True), atol=1e-5)


def test_predict_more_scores_new_vectors_with_the_folds_svm():
    """A fold's fitted SVM on new feature vectors (a noisy copy of its test set): the test vectors
    themselves give the fold's own decisions and posteriors; sklearn's RBF SVM agrees on others."""
    from sklearn.svm import SVC

    from serkit.baseline.opensmile_svm import RbfKernel, predict_more, train_and_predict

    rng = np.random.default_rng(2)
    labels = ["angry", "happy", "sad"]
    feats = {f"u{i:02d}": rng.normal(0.8 * (i % 3), 1.0, 12) for i in range(60)}
    utt2emo = {u: labels[int(u[1:]) % 3] for u in feats}
    utts = sorted(feats)
    result = train_and_predict(RbfKernel(feats), utt2emo, utts[:40], utts[40:50], utts[50:])
    same, post = predict_more(RbfKernel(feats), result, np.stack([feats[u] for u in utts[50:]]))
    assert same == [result.decisions[u] for u in utts[50:]]
    np.testing.assert_allclose(post, result.posteriors, atol=1e-5)
    noisy = np.stack([feats[u] for u in utts[50:]]) + rng.normal(0, 1.5, (10, 12))
    ref = SVC(C=result.c, kernel="rbf", gamma="scale", class_weight="balanced").fit(
        np.stack([feats[u] for u in utts[:50]]), [utt2emo[u] for u in utts[:50]])
    assert predict_more(RbfKernel(feats), result, noisy)[0] == list(ref.predict(noisy))


def _prefixed_copy(src, dst, prefix):
    """The same audio under ``prefix`` ids and speakers, as augment_data_dir.sh writes a copy."""
    dst.mkdir()
    for name in ("wav.scp", "utt2spk", "utt2emo"):
        rows = [line.split(maxsplit=1) for line in (src / name).read_text().splitlines()]
        (dst / name).write_text("".join(f"{prefix}{u} {prefix + v if name == 'utt2spk' else v}\n" for u, v in rows))
    run_script([sys.executable, "-m", "serkit.bin.data_dir", "fix", dst])  # sorts, writes spk2utt
    return dst


def test_fold_variants_map_each_training_copy_to_its_source(tmp_path):
    """train_aug/utt2source: every copy of a training speaker's utterance names that utterance
    (train.consistency pairs them); test speakers' copies are not in train_aug."""
    from serkit.data.datadir import DataDir

    d = make_data_dir(tmp_path, "all", speakers=("s1", "s2", "s3"), utts_per_spk=4, seconds=0.3)
    noisy = _prefixed_copy(d, tmp_path / "all_noise", "noise-")
    noisy2 = _prefixed_copy(d, tmp_path / "all_noise2", "noise2-")
    run_script([sys.executable, "-m", "serkit.bin.make_folds", "--scheme", "loso", "--dev-speakers", "0", d, tmp_path / "folds"])
    run_script([sys.executable, "-m", "serkit.bin.fold_variants", "--folds-dir", tmp_path / "folds",
                "--train-aug", f"{noisy}:noise-", f"{noisy2}:noise2-"])
    for k in (1, 2, 3):
        fold = tmp_path / "folds" / f"fold{k}"
        train = DataDir(fold / "train").utts
        assert read_table(fold / "train_aug" / "utt2source") == {
            **{f"noise-{u}": u for u in train}, **{f"noise2-{u}": u for u in train}}
        assert set(DataDir(fold / "train_aug").utts) == set(train) | {p + u for p in ("noise-", "noise2-") for u in train}


def test_baseline_cli_scores_a_noisy_test_variant(tmp_path):
    """--test-variant snr5=DIR: each fold's SVM also decides fold<k>/test_snr5 (fold_variants)."""
    d = make_data_dir(tmp_path, "all", speakers=("s1", "s2", "s3"), utts_per_spk=6, seconds=0.5)
    noisy = _prefixed_copy(d, tmp_path / "all_snr5", "snr5-")
    run_script([sys.executable, "-m", "serkit.bin.make_folds", "--scheme", "loso", "--dev-speakers", "0", d, tmp_path / "folds"])
    run_script([sys.executable, "-m", "serkit.bin.fold_variants", "--folds-dir", tmp_path / "folds",
                "--test-variant", f"snr5={noisy}:snr5-"])
    exp = tmp_path / "exp"
    run_script([sys.executable, "-m", "serkit.bin.baseline_svm", "--feature-set", "eGeMAPSv02",
                "--test-variant", f"snr5={noisy}", d, tmp_path / "folds", exp])
    for k in range(1, 4):
        clean = read_table(exp / f"fold{k}" / "decode_test" / "utt2pred")
        preds = read_table(exp / f"fold{k}" / "decode_test_snr5" / "utt2pred")
        assert preds == {f"snr5-{u}": p for u, p in clean.items()}  # the same audio: the same decisions
        assert read_posteriors(exp / f"fold{k}" / "decode_test_snr5").utts == sorted(preds)


def test_baseline_cli_trains_on_augmented_copies_too(tmp_path):
    """--train-copy noise-=DIR: each fold's training utterances' copies join its training set, kept
    with their source speaker in the inner folds; a prefix that matches nothing is an error."""
    import argparse

    from serkit.bin.baseline_svm import add_train_copies
    from serkit.errors import SerkitError

    d = make_data_dir(tmp_path, "all", speakers=("s1", "s2", "s3"), utts_per_spk=6, seconds=0.5)
    copy = _prefixed_copy(d, tmp_path / "all_noise", "noise-")
    run_script([sys.executable, "-m", "serkit.bin.make_folds", "--scheme", "loso", "--dev-speakers", "0", d, tmp_path / "folds"])
    for exp, extra in ((tmp_path / "clean", []), (tmp_path / "mc", ["--train-copy", f"noise-={copy}"])):
        run_script([sys.executable, "-m", "serkit.bin.baseline_svm", "--feature-set", "eGeMAPSv02", *extra, d,
                    tmp_path / "folds", exp])
    clean = json.loads((tmp_path / "clean" / "model_info.json").read_text())["per_fold"]
    mc = json.loads((tmp_path / "mc" / "model_info.json").read_text())
    assert mc["train_copies"] == [f"noise-={copy}"]
    assert all(mc["per_fold"][f]["train_utterances"] == 2 * clean[f]["train_utterances"] == 24 for f in clean)
    args = argparse.Namespace(feature_set="eGeMAPSv02", no_speaker_norm=False, jobs=2, denoise=None)
    utt2emo, utt2spk = read_table(d / "utt2emo"), read_table(d / "utt2spk")
    feats, emo, groups = add_train_copies([f"noise-={copy}"], {}, utt2emo, utt2spk, tmp_path / "mc" / "functionals", args)
    assert len(feats) == 18 and all(groups[f"noise-{u}"] == utt2spk[u] and emo[f"noise-{u}"] == utt2emo[u] for u in utt2spk)
    with pytest.raises(SerkitError, match="no utterance of .* is 'sp1.1-<utt>'"):
        add_train_copies([f"sp1.1-={copy}"], {}, utt2emo, utt2spk, tmp_path / "mc" / "functionals", args)


def test_constant_functionals_get_sklearns_gamma():
    """Every value equal (e.g. standardised functionals of identical clips): gamma 1, as sklearn."""
    from serkit.baseline.opensmile_svm import RbfKernel

    kernel = RbfKernel({f"u{i}": np.zeros(5) for i in range(4)})
    assert kernel.gamma(["u0", "u1"]) == 1.0 and np.isfinite(kernel.matrix(["u0"], ["u1", "u2"], 1.0)).all()


def _three_speakers(n_per_spk=30, dims=20, seed=1):
    rng = np.random.default_rng(seed)
    labels = ["angry", "happy", "sad"]
    feats, utt2emo, utt2spk = {}, {}, {}
    for spk in ("s1", "s2", "s3", "s4"):
        shift = rng.normal(0, 0.5, dims)
        for i in range(n_per_spk):
            u = f"{spk}-{i:02d}"
            label = labels[i % 3]
            feats[u] = rng.normal(0.6 * labels.index(label), 1.0, dims) + shift
            utt2emo[u], utt2spk[u] = label, spk
    return feats, utt2emo, utt2spk


def test_inner_speaker_folds_hold_out_whole_speakers():
    from serkit.baseline.opensmile_svm import selection_splits

    _, _, utt2spk = _three_speakers()
    train = [u for u in sorted(utt2spk) if utt2spk[u] != "s4"]
    splits = selection_splits(train, [], utt2spk)
    assert len(splits) == 3
    assert sorted(u for _, held in splits for u in held) == train  # each training utterance held out once
    for fit, held in splits:
        assert not {utt2spk[u] for u in fit} & {utt2spk[u] for u in held}
    assert selection_splits(train, ["s4-00"], utt2spk) == [(train, ["s4-00"])]  # dev speakers win
    assert selection_splits([u for u in train if utt2spk[u] == "s1"], [], utt2spk) == []  # one speaker: nothing to hold out


def test_svm_without_dev_chooses_c_on_inner_speaker_folds():
    """No dev speakers: C is the grid's best UA over speaker-independent inner folds (checked
    against sklearn's own cross-validation), and the posterior temperature is fitted there too."""
    from sklearn.model_selection import GroupKFold, cross_val_predict
    from sklearn.svm import SVC

    from serkit.baseline.opensmile_svm import C_GRID, RbfKernel, train_and_predict
    from serkit.score.metrics import compute_scores

    feats, utt2emo, utt2spk = _three_speakers()
    train = [u for u in sorted(feats) if utt2spk[u] != "s4"]
    test = [u for u in sorted(feats) if utt2spk[u] == "s4"]
    result = train_and_predict(RbfKernel(feats), utt2emo, train, [], test, utt2spk)
    assert result.selection == "3 inner speaker folds" and result.temperature != 1.0
    x, y, groups = np.stack([feats[u] for u in train]), [utt2emo[u] for u in train], [utt2spk[u] for u in train]
    uas = []
    for c in C_GRID:
        pred = cross_val_predict(SVC(C=c, kernel="rbf", gamma="scale", class_weight="balanced"), x, y,
                                 groups=groups, cv=GroupKFold(n_splits=3))
        uas.append(compute_scores(y, list(pred)).ua)
    assert result.c == C_GRID[int(np.argmax(uas))]
    no_spk = train_and_predict(RbfKernel(feats), utt2emo, train, [], test)
    assert no_spk.selection == "none (C=1)" and no_spk.c == 1.0 and no_spk.temperature == 1.0


def test_functionals_in_parallel_match_one_process_and_skip_unreadable_audio(tmp_path, caplog):
    d = make_data_dir(tmp_path, "all", speakers=("s1", "s2"), utts_per_spk=5, seconds=0.4)
    wav = read_table(d / "wav.scp")
    (tmp_path / "empty.wav").write_bytes(b"")
    wav["s1-u02"] = str(tmp_path / "empty.wav")  # unreadable: skipped with a warning, in both modes
    write_table(d / "wav.scp", wav)
    one = extract_functionals(d, tmp_path / "one.ark", tmp_path / "one.scp", "eGeMAPSv02", jobs=1, chunk=3)
    two = extract_functionals(d, tmp_path / "two.ark", tmp_path / "two.scp", "eGeMAPSv02", jobs=2, chunk=3)
    assert "s1-u02" not in one and "s1-u02" not in two and "skipping 's1-u02'" in caplog.text
    assert list(load_scp(tmp_path / "two.scp")) == list(load_scp(tmp_path / "one.scp")) == sorted(wav.keys() - {"s1-u02"})
    for utt, vec in one.items():
        np.testing.assert_array_equal(two[utt], vec)


def test_cached_functionals_are_used_only_for_the_audio_they_came_from(tmp_path, caplog):
    d = make_data_dir(tmp_path, "all", speakers=("s1", "s2"), utts_per_spk=2, seconds=0.4)
    ark, scp = tmp_path / "f.ark", tmp_path / "f.scp"
    first = extract_functionals(d, ark, scp, "eGeMAPSv02")
    stamp = scp.stat().st_mtime_ns
    again = extract_functionals(d, ark, scp, "eGeMAPSv02")
    assert scp.stat().st_mtime_ns == stamp and "extracting again" not in caplog.text
    np.testing.assert_array_equal(again["s1-u01"], first["s1-u01"])
    assert not np.array_equal(first["s1-u01"], first["s2-u01"])

    wav = read_table(d / "wav.scp")
    wav["s1-u01"] = wav["s2-u01"]  # other audio under the same id: the cache is stale
    write_table(d / "wav.scp", wav)
    redone = extract_functionals(d, ark, scp, "eGeMAPSv02")
    assert "another wav.scp" in caplog.text
    np.testing.assert_array_equal(redone["s1-u01"], first["s2-u01"])

    caplog.clear()  # a cache from before the .source stamp: trusted only if it holds every utterance
    Path(f"{scp}.source").unlink()
    scp.write_text("".join(line for line in scp.read_text().splitlines(True) if not line.startswith("s2-u00 ")))
    assert len(extract_functionals(d, ark, scp, "eGeMAPSv02")) == 4
    assert "lacks 1 utterances" in caplog.text and Path(f"{scp}.source").is_file()


def test_functionals_of_a_missing_data_dir_fail_with_its_path(tmp_path):
    from serkit.errors import SerkitError

    with pytest.raises(SerkitError, match="not a directory"):
        extract_functionals(tmp_path / "nowhere", tmp_path / "f.ark", tmp_path / "f.scp", "eGeMAPSv02")


def _voiced_bursts(rate=16000, seconds=2.0, seed=0):
    """Harmonic bursts (0.3 s on, 0.2 s off) at a gliding pitch: speech-like enough for eGeMAPS."""
    t = np.arange(int(rate * seconds)) / rate
    f0 = 140 + 30 * np.sin(2 * np.pi * 0.7 * t)
    phase = 2 * np.pi * np.cumsum(f0) / rate
    voiced = sum(np.sin(k * phase) / k for k in range(1, 8)) * ((t % 0.5) < 0.3)
    return (0.3 * voiced / np.abs(voiced).max()).astype(np.float32)


def test_functionals_of_denoised_audio_are_nearer_the_clean_ones(tmp_path, caplog):
    """extract_functionals(denoise=...): spectral subtraction before openSMILE brings the
    functionals of a noisy recording (white noise at 5 dB) nearer those of its clean source, and a
    cache of the other setting is not reused; --denoise-config must name a config that denoises."""
    import soundfile as sf

    from serkit.bin.baseline_svm import denoise_of, main
    from serkit.errors import SerkitError

    clean = _voiced_bursts()
    noise = np.random.default_rng(1).normal(0, 1, len(clean)).astype(np.float32)
    noise *= np.sqrt(np.mean(clean ** 2) / np.mean(noise ** 2) / 10 ** 0.5)  # 5 dB
    d = tmp_path / "all"
    d.mkdir()
    for name, x in (("clean", clean), ("noisy", clean + noise)):
        sf.write(tmp_path / f"{name}.wav", x, 16000, subtype="PCM_16")
    write_table(d / "wav.scp", {u: str(tmp_path / f"{u}.wav") for u in ("clean", "noisy")})
    write_table(d / "utt2spk", {"clean": "s1", "noisy": "s1"})
    write_table(d / "spk2utt", {"s1": "clean noisy"})
    conf = tmp_path / "feats_ss.yaml"
    conf.write_text("denoise:\n  enabled: true\n")
    ark, scp = tmp_path / "f.ark", tmp_path / "f.scp"
    plain = extract_functionals(d, ark, scp, "eGeMAPSv02")
    denoised = extract_functionals(d, ark, scp, "eGeMAPSv02", denoise=denoise_of(conf))
    assert "extracting again" in caplog.text  # the plain cache is not the denoised one
    ref = plain["clean"]
    scale = np.abs(ref) + np.abs(plain["noisy"] - ref) + 1e-6
    before = np.abs(plain["noisy"] - ref) / scale
    after = np.abs(denoised["noisy"] - ref) / scale
    assert after.mean() < 0.8 * before.mean()
    assert (after < before).mean() > 0.6
    assert denoise_of(None) is None
    (tmp_path / "plain.yaml").write_text("feat_type: logmel\n")
    with pytest.raises(SerkitError, match="does not say 'enabled: true'"):
        denoise_of(tmp_path / "plain.yaml")
    with pytest.raises(SerkitError, match="cannot apply to --functionals"):  # archives made elsewhere: not denoised
        main(["--denoise-config", str(conf), "--functionals", str(scp), str(d), str(tmp_path / "folds"), str(tmp_path / "exp")])

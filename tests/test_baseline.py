"""The classical baseline (openSMILE functionals + SVM) on the recipe's folds."""
import sys

import numpy as np
import pytest

from conftest import make_data_dir, run_script
from serkit.baseline.opensmile_svm import available, standardise_per_speaker
from serkit.data.table import read_table
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

"""The benchmark table scripts in bench/: per-fold UA restricted to the same folds, mean ± std,
and the table kept in its RESULTS.md section."""
import json
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "bench"


def _summary(path: Path, uas):
    path.mkdir(parents=True, exist_ok=True)
    folds = [{"name": f"fold{i}", "ua": ua} for i, ua in uas.items()]
    (path / "summary.json").write_text(json.dumps({"folds": folds}))


def _robustness(recipe: Path, *args):
    return subprocess.run([sys.executable, str(BENCH / "robustness_table.py"), "--recipe", str(recipe),
                           "--snrs", "5", *args], capture_output=True, text=True)


def test_reference_rows_are_restricted_to_the_named_folds(tmp_path):
    _summary(tmp_path / "ref/results", {1: 0.80, 2: 0.10, 3: 0.90})  # fold 2 is not in --folds
    _summary(tmp_path / "ref/results_snr5", {1: 0.40, 2: 0.00, 3: 0.60})
    _summary(tmp_path / "aug/results", {1: 0.70, 2: 0.80})
    _summary(tmp_path / "aug/results_snr5", {1: 0.65, 2: 0.75})
    results = tmp_path / "RESULTS.md"
    results.write_text("# R\n\nkept text\n")
    run = _robustness(tmp_path, "--reference", "ref", "--folds", "1,3", "--update", str(results),
                      "--note", "measured here", "none=ref", "noise=aug")
    assert run.returncode == 0, run.stderr
    text = results.read_text()
    assert "| none | 85.0 ± 7.1 | 50.0 ± 14.1 | -35.0 |" in text
    assert "| noise | 75.0 ± 7.1 | 70.0 ± 7.1 | -5.0 |" in text
    assert "kept text" in text and "measured here" in text


def test_a_missing_fold_is_an_error_not_a_smaller_mean(tmp_path):
    _summary(tmp_path / "ref/results", {1: 0.80})
    _summary(tmp_path / "ref/results_snr5", {1: 0.40})
    run = _robustness(tmp_path, "--reference", "ref", "--folds", "1,3", "none=ref")
    assert run.returncode != 0
    assert "not all of [1, 3]" in run.stderr and "summary.json" in run.stderr


def test_an_unscored_experiment_says_what_to_do(tmp_path):
    run = _robustness(tmp_path, "none=nothing")
    assert run.returncode != 0 and "score the experiment first" in run.stderr


def test_bad_rows_and_fold_names_say_what_is_wrong(tmp_path):
    run = _robustness(tmp_path, "exp/train")
    assert run.returncode != 0 and "is not NAME=EXPERIMENT" in run.stderr
    (tmp_path / "ref/results").mkdir(parents=True)
    (tmp_path / "ref/results/summary.json").write_text(json.dumps({"folds": [{"name": "spk03", "ua": 0.5}]}))
    run = _robustness(tmp_path, "--reference", "ref", "--folds", "1", "none=ref")
    assert run.returncode != 0 and "fold name 'spk03' is not fold<N>" in run.stderr
    run = subprocess.run([sys.executable, str(BENCH / "deployment_table.py"), "--recipe", str(tmp_path), "fp32|exp"],
                         capture_output=True, text=True)
    assert run.returncode != 0 and "is not NAME|EXPERIMENT|EXPORT_DIR|FILE" in run.stderr

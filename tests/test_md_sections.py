"""Named Markdown sections: benchmark tables put into a RESULTS.md survive its regeneration."""
import json

import pytest

from serkit.bin import write_results
from serkit.utils import md_sections


def test_upsert_appends_then_replaces_in_place():
    text = "# Results\n\nbody\n"
    once = md_sections.upsert(text, "robustness", "| a |\n")
    assert once.startswith(text.rstrip("\n"))
    assert md_sections.sections(once) == {"robustness": "| a |\n"}
    twice = md_sections.upsert(once + "\ntail\n", "robustness", "| b |")
    assert md_sections.sections(twice) == {"robustness": "| b |\n"}
    assert "| a |" not in twice and twice.rstrip().endswith("tail")
    assert twice.index("| b |") < twice.index("tail")  # replaced where it was, not moved


def test_two_sections_are_independent():
    text = md_sections.upsert(md_sections.upsert("", "one", "1"), "two", "2")
    text = md_sections.upsert(text, "one", "uno")
    assert md_sections.sections(text) == {"one": "uno\n", "two": "2\n"}


def test_bad_section_name_is_refused():
    with pytest.raises(ValueError, match="section name"):
        md_sections.upsert("", "has space", "x")


def _fake_experiment(exp, tag):
    folds = [{"name": "fold1", "ua": 0.8}, {"name": "fold2", "ua": 0.6}]
    summary = {"num_folds": 2, "mean": {"ua": 0.7, "wa": 0.72, "macro_f1": 0.69}, "std": {"ua": 0.14, "wa": 0.1,
               "macro_f1": 0.1}, "pooled": {"ua": 0.71, "wa": 0.73}, "folds": folds}
    (exp / tag / "results").mkdir(parents=True)
    (exp / tag / "results" / "summary.json").write_text(json.dumps(summary))
    (exp / tag / "results" / "summary.md").write_text("# summary\n\n| fold | UA |\n")
    (exp / tag / "model_info.json").write_text(json.dumps({"model": "svm", "seconds": 60.0}))


def test_write_results_keeps_benchmark_sections(tmp_path):
    exp = tmp_path / "exp"
    _fake_experiment(exp, "baseline_svm")
    out = tmp_path / "RESULTS.md"
    out.write_text(md_sections.upsert("# old results\n", "robustness", "| noise | 5 dB |\n| x | 61.0 |"))
    assert write_results.main(["--exp", str(exp), "--out", str(out), "--title", "New", "baseline_svm"]) == 0
    text = out.read_text()
    assert "# old results" not in text and text.startswith("# New")
    assert "| 70.0 ± 14.0 |" in text
    assert md_sections.sections(text) == {"robustness": "| noise | 5 dB |\n| x | 61.0 |\n"}


def test_write_keeping_carries_sections_into_a_new_file(tmp_path):
    out = tmp_path / "RESULTS.md"
    assert md_sections.write_keeping(out, "# first\n") == "# first\n"  # no old file: written as is
    out.write_text(md_sections.upsert(out.read_text(), "notes", "kept"))
    written = md_sections.write_keeping(out, "# second\n")
    assert out.read_text() == written and written.startswith("# second\n") and "# first" not in written
    assert md_sections.sections(written) == {"notes": "kept\n"}


def test_write_results_says_how_folds_used_dev_speakers(tmp_path):
    exp = tmp_path / "exp"
    _fake_experiment(exp, "baseline_svm")
    folds = tmp_path / "folds"
    (folds / "fold1" / "train").mkdir(parents=True)
    args = ["--exp", str(exp), "--folds-dir", str(folds), "--out", str(tmp_path / "R.md"), "baseline_svm"]
    assert write_results.main(args) == 0
    assert "no dev speakers: all other speakers train" in (tmp_path / "R.md").read_text()
    (folds / "fold1" / "dev").mkdir()
    assert write_results.main(args) == 0
    assert "one dev speaker group per fold for early stopping" in (tmp_path / "R.md").read_text()


def test_cost_row_of_an_ensemble_counts_one_member_per_step():
    """Members train one at a time: the achieved FLOP/s use one member's FLOPs, not the ensemble's."""
    epoch = {"epoch_seconds": 2.0, "utts_per_second": 100.0, "frames_per_second": 10000.0}
    single = {"tag": "one", "epochs": [epoch], "train": [{"epochs_run": 30}],
              "info": {"mflops_per_audio_second": 10.0}}
    ensemble = {"tag": "three", "epochs": [epoch], "train": [{"epochs_run": 90}],
                "info": {"mflops_per_audio_second": 30.0, "ensemble_members": 3}}
    rows = write_results._cost_rows([single, ensemble], None)
    assert rows[2] == "| one | 30.0 | 2.0 | 100 | 3.0 |" and rows[3] == "| three | 90.0 | 2.0 | 100 | 3.0 |"

"""The scoring command lines, run as a user runs them: compute_metrics, aggregate_scores, make_folds."""
import json
import sys
from pathlib import Path

import pytest

from conftest import REPO, make_data_dir, run_script
from serkit.data.table import read_table, write_table


def _cli(name, *args, check=True):
    return run_script([sys.executable, "-m", f"serkit.bin.{name}", *args], cwd=REPO, check=check)


# Fold A (hand-worked in test_score_metrics): confusion A [3 1 0], B [0 2 2], C [1 0 1]; u11 has no hypothesis.
REF_A = dict(zip([f"a{i:02d}" for i in range(11)], "A A A A B B B B C C C".split()))
HYP_A = dict(zip([f"a{i:02d}" for i in range(10)], "A A A B B B C C A C".split()))
# Fold B: ref A A B B, hyp A B B B (WA 3/4, UA 3/4, macro-F1 11/15).
REF_B = {"b1": "A", "b2": "A", "b3": "B", "b4": "B"}
HYP_B = {"b1": "A", "b2": "B", "b3": "B", "b4": "B"}


@pytest.fixture(scope="module")
def scored(tmp_path_factory):
    """compute_metrics run on both folds (fold A with --allow-missing)."""
    root = tmp_path_factory.mktemp("score")
    for name, table in (("ref_a", REF_A), ("hyp_a", HYP_A), ("ref_b", REF_B), ("hyp_b", HYP_B)):
        write_table(root / name, table)
    (root / "labels.txt").write_text("C\nB\nA\n")
    proc_a = _cli("compute_metrics", "--allow-missing", "--name", "foldA", "--labels", root / "labels.txt",
                  root / "ref_a", root / "hyp_a", root / "A")
    proc_b = _cli("compute_metrics", root / "ref_b", root / "hyp_b", root / "B")
    return root, proc_a, proc_b


def test_compute_metrics_outputs(scored):
    root, proc_a, _ = scored
    out = root / "A"
    info = json.loads((out / "scores.json").read_text())
    assert info["labels"] == ["C", "B", "A"]  # the labels file's order
    assert (info["num_utts"], info["num_missing"], info["name"]) == (10, 1, "foldA")
    assert info["wa"] == pytest.approx(0.6)
    assert info["ua"] == pytest.approx(7 / 12)
    assert info["macro_f1"] == pytest.approx((3 / 4 + 4 / 7 + 2 / 5) / 3)
    assert info["confusion"] == [[1, 0, 1], [2, 2, 0], [0, 1, 3]]  # rows/cols C, B, A
    assert info["per_class"]["B"]["precision"] == pytest.approx(2 / 3)
    text = (out / "scores.txt").read_text()
    assert proc_a.stdout == text
    assert "UA 58.33%  WA 60.00%  macro-F1 57.38%" in text
    assert "1 reference utterances had no hypothesis" in text
    assert "1 of 11 reference utterances have no hypothesis" in proc_a.stderr
    assert (out / "confusion.png").read_bytes()[:4] == b"\x89PNG"
    assert dict(read_table(out / "ref.utt2emo")) == {u: REF_A[u] for u in HYP_A}  # the scored pairs
    assert dict(read_table(out / "hyp.utt2pred")) == HYP_A


def test_compute_metrics_refuses_bad_pairs(scored):
    root = scored[0]
    proc = _cli("compute_metrics", root / "ref_a", root / "hyp_a", root / "x", check=False)
    assert proc.returncode == 1
    assert proc.stderr.startswith("compute_metrics: ERROR: ")
    assert f"{root}/ref_a:11: utterance 'a10' has no hypothesis in {root}/hyp_a" in proc.stderr
    assert "--allow-missing" in proc.stderr
    write_table(root / "hyp_extra", {**HYP_B, "zz": "A"})
    proc = _cli("compute_metrics", "--allow-missing", root / "ref_b", root / "hyp_extra", root / "x", check=False)
    assert proc.returncode == 1
    assert f"{root}/hyp_extra:5: utterance 'zz' has a hypothesis but no reference label in {root}/ref_b" in proc.stderr
    assert not (root / "x").exists()


def test_aggregate_scores(scored, tmp_path):
    root = scored[0]
    proc = _cli("aggregate_scores", tmp_path / "sum", root / "A", root / "B")
    summary = json.loads((tmp_path / "sum" / "summary.json").read_text())
    assert [f["name"] for f in summary["folds"]] == ["foldA", str(root / "B")]
    assert summary["mean"]["wa"] == pytest.approx(0.675)
    assert summary["std"]["wa"] == pytest.approx(0.15 / 2 ** 0.5)  # sample std, ddof=1
    assert summary["std_ddof"] == 1
    assert summary["pooled"]["num_utts"] == 14
    assert summary["pooled"]["wa"] == pytest.approx(9 / 14)
    assert summary["pooled"]["labels"] == ["C", "B", "A"]
    assert summary["pooled"]["confusion"] == [[1, 0, 1], [2, 4, 0], [0, 2, 4]]
    md = (tmp_path / "sum" / "summary.md").read_text()
    assert proc.stdout == md
    assert "| foldA | 58.33 | 60.00 | 57.38 | 10 |" in md
    assert "| **mean ± std** | 66.67 ± 11.79 | 67.50 ± 10.61 |" in md
    assert "| **pooled** | 61.11 | 64.29 |" in md
    assert "| reference \\ hypothesis | C | B | A |" in md and "| A | 0 | 2 | 4 |" in md
    assert (tmp_path / "sum" / "confusion.png").read_bytes()[:4] == b"\x89PNG"


def test_aggregate_scores_errors(scored, tmp_path):
    root = scored[0]
    proc = _cli("aggregate_scores", tmp_path / "s", root / "A", root / "A", check=False)
    assert proc.returncode == 1 and "utterance 'a00' is a test utterance of both" in proc.stderr
    proc = _cli("aggregate_scores", tmp_path / "s", root / "A", tmp_path, check=False)
    assert proc.returncode == 1 and f"{tmp_path}/scores.json: missing; run serkit.bin.compute_metrics" in proc.stderr


def test_make_folds_cli(tmp_path):
    data = make_data_dir(tmp_path, speakers=("s1", "s2", "s3"), utts_per_spk=2, seconds=0.1)
    proc = _cli("make_folds", "--dev-speakers", "1", data, tmp_path / "cv")
    lines = proc.stdout.splitlines()
    assert lines[0] == "fold1: test s1 (2 utts) | dev s2 (2 utts) | train s3 (2 utts)"
    assert lines[2] == "fold3: test s3 (2 utts) | dev s1 (2 utts) | train s2 (2 utts)"
    assert "wrote 3 folds (loso)" in lines[3]
    assert set(read_table(tmp_path / "cv" / "fold2" / "test" / "utt2spk").values()) == {"s2"}
    (tmp_path / "f.txt").write_text("fold1 s1,s2\n")
    proc = _cli("make_folds", "--fold-file", tmp_path / "f.txt", data, tmp_path / "cv2", check=False)
    assert proc.returncode == 1
    assert f"make_folds: ERROR: {tmp_path}/f.txt:1: fold 'fold1': cannot take 1 dev speakers" in proc.stderr
    proc = _cli("make_folds", "--scheme", "loso", "--fold-file", tmp_path / "f.txt", data, tmp_path / "cv2",
                check=False)
    assert proc.returncode == 1 and "--fold-file is only used with --scheme file" in proc.stderr
    assert not Path(tmp_path / "cv2").exists()

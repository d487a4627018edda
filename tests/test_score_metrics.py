"""Scores: WA, UA, macro-F1, per-class scores and confusion matrices on hand-worked examples,
against scikit-learn when it is installed; aggregation over folds; the confusion picture."""
import json
import subprocess
import sys

import numpy as np
import pytest

from serkit.data.table import read_table, write_table
from serkit.data.table import read_label_list
from serkit.errors import TableError
from serkit.score.metrics import (
    ScoreError, aggregate, compute_scores, confusion_matrix, pair_tables, read_label_table,
    scores_from_confusion,
)

# Three classes, worked by hand. Confusion (rows = reference):
#        A  B  C    support   recall
#   A    3  1  0       4       3/4
#   B    0  2  2       4       2/4
#   C    1  0  1       2       1/2
#   predicted: 4 3 3; precision 3/4, 2/3, 1/3
# WA = 6/10; UA = (3/4 + 1/2 + 1/2) / 3 = 7/12
# F1 = 2TP / (support + predicted): A 6/8, B 4/7, C 2/5; macro-F1 = (3/4 + 4/7 + 2/5) / 3
REF3 = "A A A A B B B B C C".split()
HYP3 = "A A A B B B C C A C".split()
MACRO3 = (3 / 4 + 4 / 7 + 2 / 5) / 3


def test_three_classes_worked_by_hand():
    s = compute_scores(REF3, HYP3)
    assert s.labels == ["A", "B", "C"]
    np.testing.assert_array_equal(s.confusion, [[3, 1, 0], [0, 2, 2], [1, 0, 1]])
    assert s.num_utts == 10
    assert s.wa == pytest.approx(0.6)
    assert s.ua == pytest.approx(7 / 12)
    assert s.macro_f1 == pytest.approx(MACRO3)
    by = {c.label: c for c in s.per_class}
    assert [by[k].precision for k in "ABC"] == pytest.approx([3 / 4, 2 / 3, 1 / 3])
    assert [by[k].recall for k in "ABC"] == pytest.approx([3 / 4, 1 / 2, 1 / 2])
    assert [by[k].f1 for k in "ABC"] == pytest.approx([3 / 4, 4 / 7, 2 / 5])
    assert [(by[k].support, by[k].predicted, by[k].correct) for k in "ABC"] == [(4, 4, 3), (4, 3, 2), (2, 3, 1)]


def test_class_only_predicted_adds_no_term_to_ua_or_macro_f1():
    # labels A B D E: D is predicted but never the reference, E is neither.
    # A: 1 of 2 right (the other called D), precision 1 -> F1 2/3; B: 2 of 2, precision 1 -> F1 1.
    # UA = (1/2 + 1) / 2 = 3/4; macro-F1 over the reference classes {A, B} = (2/3 + 1) / 2 = 5/6
    # (averaging over every label seen, D included, would give 5/9).
    s = compute_scores(["A", "A", "B", "B"], ["A", "D", "B", "B"], labels=["A", "B", "D", "E"])
    assert s.confusion.shape == (4, 4)
    assert s.wa == pytest.approx(3 / 4)
    assert s.ua == pytest.approx(3 / 4)
    assert s.macro_f1 == pytest.approx(5 / 6)
    assert s.reference_classes == ["A", "B"]
    d, e = s.per_class[2], s.per_class[3]
    assert (d.precision, d.recall, d.f1, d.predicted) == (0.0, None, None, 1)
    assert (e.precision, e.recall, e.f1, e.support) == (None, None, None, 0)
    info = json.loads(json.dumps(s.to_dict()))  # JSON-able
    assert info["per_class"]["D"]["recall"] is None
    assert info["confusion"][0] == [1, 0, 1, 0]
    assert "reference" in info["conventions"]["macro_f1"]


def test_never_predicted_reference_class_has_precision_zero():
    s = compute_scores(["A", "B"], ["A", "A"])
    b = s.per_class[1]
    assert (b.precision, b.recall, b.f1) == (0.0, 0.0, 0.0)
    assert s.macro_f1 == pytest.approx((2 / 3 + 0) / 2)  # A: P 1/2, R 1 -> F1 2/3


def test_label_set_order_is_kept_and_unknown_labels_are_refused():
    s = compute_scores(["sad", "angry", "angry"], ["sad", "sad", "angry"], labels=["sad", "angry"])
    np.testing.assert_array_equal(s.confusion, [[1, 0], [1, 1]])  # rows: sad, angry
    assert [c.label for c in s.per_class] == ["sad", "angry"]
    with pytest.raises(ScoreError, match="hypothesis label 'happy' is not in the label set"):
        compute_scores(["sad"], ["happy"], labels=["sad", "angry"])
    with pytest.raises(ScoreError, match="more than once"):
        compute_scores(["sad"], ["sad"], labels=["sad", "sad"])
    with pytest.raises(ScoreError, match="must pair up"):
        compute_scores(["sad", "sad"], ["sad"])
    with pytest.raises(ScoreError, match="no utterances"):
        compute_scores([], [])


def test_against_sklearn():
    metrics = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(7)
    labels = ["ang", "hap", "neu", "sad", "xtra"]
    ref = list(rng.choice(labels[:4], size=300, p=[0.1, 0.2, 0.5, 0.2]))
    hyp = [r if rng.random() < 0.55 else str(rng.choice(labels)) for r in ref]
    s = compute_scores(ref, hyp, labels)
    present = sorted(set(ref))
    assert s.wa == pytest.approx(metrics.accuracy_score(ref, hyp))
    assert s.ua == pytest.approx(metrics.recall_score(ref, hyp, average="macro", labels=present, zero_division=0))
    assert s.macro_f1 == pytest.approx(metrics.f1_score(ref, hyp, average="macro", labels=present, zero_division=0))
    np.testing.assert_array_equal(s.confusion, metrics.confusion_matrix(ref, hyp, labels=labels))
    p, r, f, n = metrics.precision_recall_fscore_support(ref, hyp, labels=present, zero_division=0)
    by = {c.label: c for c in s.per_class}
    assert [by[k].precision for k in present] == pytest.approx(list(p))
    assert [by[k].recall for k in present] == pytest.approx(list(r))
    assert [by[k].f1 for k in present] == pytest.approx(list(f))
    assert [by[k].support for k in present] == list(n)


def test_confusion_matrix_rows_are_reference():
    np.testing.assert_array_equal(confusion_matrix(["x", "x", "y"], ["y", "y", "y"], ["x", "y"]), [[0, 2], [0, 1]])


def test_text_table_lists_classes_and_confusion():
    text = compute_scores(REF3, HYP3).table("demo")
    lines = text.splitlines()
    assert lines[0] == "demo"
    assert "UA 58.33%  WA 60.00%  macro-F1 57.38%" in lines[1]
    assert any(line.split() == ["B", "66.67%", "50.00%", "57.14%", "4", "3"] for line in lines)
    i = lines.index("confusion matrix (rows = reference, columns = hypothesis):")
    assert [line.split() for line in lines[i + 1:i + 5]] == [["A", "B", "C"], ["A", "3", "1", "0"],
                                                             ["B", "0", "2", "2"], ["C", "1", "0", "1"]]


# Fold 2, by hand: ref A A B B, hyp A B B B: WA 3/4; UA (1/2 + 1)/2 = 3/4;
# F1: A (P 1, R 1/2) 2/3, B (P 2/3, R 1) 4/5 -> macro 11/15.
REF2 = ["A", "A", "B", "B"]
HYP2 = ["A", "B", "B", "B"]


def test_aggregate_mean_sample_std_and_pooled():
    f1, f2 = compute_scores(REF3, HYP3), compute_scores(REF2, HYP2)
    assert f2.macro_f1 == pytest.approx(11 / 15)
    agg = aggregate([f1, f2], REF3 + REF2, HYP3 + HYP2, names=["one", "two"])
    assert agg.mean["wa"] == pytest.approx((0.6 + 0.75) / 2)
    assert agg.std["wa"] == pytest.approx(0.15 / np.sqrt(2))  # ddof=1; ddof=0 would give 0.075
    assert agg.mean["macro_f1"] == pytest.approx((MACRO3 + 11 / 15) / 2)
    assert agg.std["ua"] == pytest.approx(abs(7 / 12 - 3 / 4) / np.sqrt(2))
    # pooled: A [4 2 0], B [0 4 2], C [1 0 1]: WA 9/14, UA (4/6 + 4/6 + 1/2)/3 = 11/18
    np.testing.assert_array_equal(agg.pooled.confusion, [[4, 2, 0], [0, 4, 2], [1, 0, 1]])
    assert agg.pooled.wa == pytest.approx(9 / 14)
    assert agg.pooled.ua == pytest.approx(11 / 18)
    # the same without pooled lists: the folds' confusion matrices are summed
    np.testing.assert_array_equal(aggregate([f1, f2]).pooled.confusion, agg.pooled.confusion)
    info = json.loads(json.dumps(agg.to_dict()))
    assert info["std_ddof"] == 1 and "ddof=1" in info["conventions"]["std"]
    assert [f["name"] for f in info["folds"]] == ["one", "two"]
    md = agg.markdown()
    assert "| one | 58.33 | 60.00 | 57.38 | 10 |" in md
    assert f"| **mean ± std** | {100 * agg.mean['ua']:.2f} ± {100 * agg.std['ua']:.2f} |" in md
    assert "| **pooled** | 61.11 | 64.29 |" in md
    assert "| A | 4 | 2 | 0 |" in md


def test_aggregate_refuses_pooled_lists_that_are_not_the_folds():
    f1, f2 = compute_scores(REF3, HYP3), compute_scores(REF2, HYP2)
    with pytest.raises(ScoreError, match="not the union of the folds' test utterances"):
        aggregate([f1, f2], REF3, HYP3)
    single = aggregate([f2])
    assert single.std["wa"] is None and "n/a" in single.markdown()


def _table(path, rows):
    write_table(path, dict(rows))
    return read_label_table(path)


def test_pair_tables_missing_extra_and_malformed(tmp_path):
    ref = _table(tmp_path / "ref", [("u1", "A"), ("u2", "B"), ("u3", "A")])
    hyp = _table(tmp_path / "hyp", [("u1", "A"), ("u3", "B")])
    with pytest.raises(ScoreError, match=rf"{tmp_path}/ref:2: utterance 'u2' has no hypothesis in {tmp_path}/hyp"):
        pair_tables(ref, hyp)
    paired = pair_tables(ref, hyp, allow_missing=True)
    assert (paired.utts, paired.ref, paired.hyp, paired.missing) == (["u1", "u3"], ["A", "A"], ["A", "B"], ["u2"])
    extra = _table(tmp_path / "hyp2", [("u1", "A"), ("u2", "B"), ("u3", "A"), ("u9", "A")])
    with pytest.raises(ScoreError, match=rf"{tmp_path}/hyp2:4: utterance 'u9' has a hypothesis but no reference"):
        pair_tables(ref, extra, allow_missing=True)
    ref_a = _table(tmp_path / "ref_a", [("u1", "A"), ("u3", "A")])
    with pytest.raises(ScoreError, match=rf"{tmp_path}/hyp:2: hypothesis label 'B' of 'u3' is not in the label set"):
        pair_tables(ref_a, hyp, labels=["A"])
    (tmp_path / "bad").write_text("u1 A\nu2 B 0.3\n")
    with pytest.raises(ScoreError, match=rf"{tmp_path}/bad:2: expected '<utt> <label>'"):
        read_label_table(tmp_path / "bad")
    (tmp_path / "labels.txt").write_text("neu 0\nang 1\n")
    assert read_label_list(tmp_path / "labels.txt") == ["neu", "ang"]
    (tmp_path / "one.txt").write_text("neu\n")
    with pytest.raises(TableError, match="one.txt: needs at least 2 labels, found 1"):
        read_label_list(tmp_path / "one.txt", minimum=2)
    assert list(read_table(tmp_path / "ref")) == ["u1", "u2", "u3"]


def test_confusion_png_and_image():
    from serkit.score.plot import confusion_figure, confusion_image, row_percentages

    np.testing.assert_allclose(row_percentages(np.array([[1, 3], [0, 0]])), [[25, 75], [0, 0]])
    s = scores_from_confusion(np.array([[5, 0], [0, 5]]), ["hi", "lo"])
    img = confusion_image(s)
    assert img.dtype == np.uint8 and img.ndim == 3 and img.shape[2] == 3 and img.shape[0] > 100
    fig = confusion_figure(s)
    fig.canvas.draw()
    ax = fig.axes[0]
    height = img.shape[0]

    def pixel(col, row):  # a point inside a cell, away from its text
        x, y = ax.transData.transform((col + 0.4, row + 0.4))
        return img[int(height - y), int(x)].astype(int)

    assert pixel(0, 0).sum() < 300  # 100 %: dark blue
    assert pixel(1, 0).min() > 230  # 0 %: white
    assert "UA 100.00%" in ax.get_title()


def test_png_file_and_lazy_matplotlib(tmp_path):
    from serkit.score.plot import plot_confusion

    out = plot_confusion(compute_scores(REF3, HYP3), tmp_path / "c.png", title="t")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [p.name for p in tmp_path.iterdir()] == ["c.png"]  # no temporary file left
    code = "import sys, serkit.score.plot, serkit.bin.compute_metrics; assert 'matplotlib' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)

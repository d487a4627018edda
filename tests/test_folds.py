"""Speaker-independent folds: LOSO, leave-N-out, fold files (with file:line errors), fold
directories, and the refusal of train/test speaker overlap unless it is allowed."""
import logging
from pathlib import Path

import pytest

from conftest import make_data_dir
from serkit.data.datadir import DataDir
from serkit.data.ops import subset_data_dir
from serkit.data.table import read_table
from serkit.data.folds import (
    Fold, FoldError, check_speaker_independent, format_fold_file, leave_n_out_folds, loso_folds, make_fold_dirs,
    make_folds, read_fold_file, speakers_of,
)

SPK = ("spk1", "spk2", "spk3", "spk4", "spk5")


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    return make_data_dir(tmp_path_factory.mktemp("folds"), speakers=SPK, utts_per_spk=2, seconds=0.1)


def _parts(folds):
    return [(f.name, f.test, f.dev, f.train) for f in folds]


def test_loso_with_one_dev_speaker(data):
    folds = make_folds(data, "loso")
    assert speakers_of(data) == list(SPK)
    assert _parts(folds) == [
        ("fold1", ("spk1",), ("spk2",), ("spk3", "spk4", "spk5")),
        ("fold2", ("spk2",), ("spk3",), ("spk1", "spk4", "spk5")),
        ("fold3", ("spk3",), ("spk4",), ("spk1", "spk2", "spk5")),
        ("fold4", ("spk4",), ("spk5",), ("spk1", "spk2", "spk3")),
        ("fold5", ("spk5",), ("spk1",), ("spk2", "spk3", "spk4")),  # the cycle wraps round
    ]


def test_loso_dev_count_and_c_order():
    folds = loso_folds(["b", "a", "B"], dev_speakers=0)
    assert _parts(folds) == [
        ("fold1", ("B",), (), ("a", "b")), ("fold2", ("a",), (), ("B", "b")), ("fold3", ("b",), (), ("B", "a"))
    ]
    assert loso_folds(SPK, dev_speakers=2)[4].dev == ("spk1", "spk2")
    with pytest.raises(FoldError, match="cannot take 4 dev speakers and keep one for training: only 4 speakers"):
        loso_folds(SPK, dev_speakers=4)
    with pytest.raises(FoldError, match="at least 2 speakers"):
        loso_folds(["solo"])


def test_leave_two_out(caplog, data):
    with caplog.at_level(logging.WARNING):
        folds = leave_n_out_folds(SPK, 2)
    assert _parts(folds) == [
        ("fold1", ("spk1", "spk2"), ("spk3",), ("spk4", "spk5")),
        ("fold2", ("spk3", "spk4"), ("spk5",), ("spk1", "spk2")),
        ("fold3", ("spk5",), ("spk1",), ("spk2", "spk3", "spk4")),
    ]
    assert "the last fold tests 1 speakers" in caplog.text
    for n in (0, 5):
        with pytest.raises(FoldError, match="N must be between 1 and 4"):
            leave_n_out_folds(SPK, n)
    with pytest.raises(FoldError, match="unknown fold scheme 'kfold'"):
        make_folds(data, "kfold")


def test_fold_file(tmp_path):
    ff = tmp_path / "folds.txt"
    ff.write_text(
        "# name test [dev]\n"
        "\n"
        "fold1  spk1,spk2\t spk4,spk5   # explicit dev\n"
        "fold2 spk3 -\n"
        "fold3 spk4\n"
    )
    folds = read_fold_file(ff, SPK)
    assert _parts(folds) == [
        ("fold1", ("spk1", "spk2"), ("spk4", "spk5"), ("spk3",)),
        ("fold2", ("spk3",), (), ("spk1", "spk2", "spk4", "spk5")),
        # the cycle is spk1 spk2 spk3 spk4 (listed order) then spk5: after spk4 comes spk5
        ("fold3", ("spk4",), ("spk5",), ("spk1", "spk2", "spk3")),
    ]
    assert read_fold_file(ff, SPK, dev_speakers=0)[2].dev == ()
    ff.write_bytes(b"fold1 spk1\r\nfold2 spk2\r\n")  # Windows line endings are harmless here
    assert [f.test for f in read_fold_file(ff, SPK)] == [("spk1",), ("spk2",)]
    # what make_fold_dirs records reads back to the same folds
    ff.write_text(format_fold_file(folds))
    assert read_fold_file(ff, SPK) == folds


@pytest.mark.parametrize(
    "content, expected",
    [
        ("fold1 spk1\nfold2 spk9\n", r":2: fold 'fold2': test speakers \['spk9'\] are not speakers of the data directory"),
        ("fold1 spk1 spk2 spk3\n", r":1: expected '<fold-name> <test-speakers,...> .*got 4 fields.*commas"),
        ("fold1\n", r":1: expected .*got 1 fields"),
        ("fold1 spk1\n# c\nfold1 spk2\n", r":3: fold name 'fold1' is already used at line 1"),
        ("f/1 spk1\n", r":1: fold name 'f/1': the recipes run fold k as job k .* call this one fold1"),
        ("fold2 spk1\nfold1 spk2\n", r":1: fold name 'fold2': .*call this one fold1"),
        ("fold1 spk1,,spk2\n", r":1: empty speaker in the test list 'spk1,,spk2'"),
        ("fold1 spk1 spk2,spk1\n", r":1: fold 'fold1': speakers \['spk1'\] are in both the test and the dev set"),
        ("fold1 spk1,spk1\n", r":1: fold 'fold1': test speakers \['spk1'\] are listed twice"),
        ("fold1 spk1\nfold2 spk1,spk2,spk3,spk4 spk5\n", r":2: fold 'fold2': no speakers left for training"),
        ("fold1 spk1,spk2,spk3,spk4\n", r":1: fold 'fold1': cannot take 1 dev speakers"),
        ("# nothing\n\n", r": no folds; write one"),
    ],
)
def test_fold_file_errors_name_file_and_line(tmp_path, content, expected):
    ff = tmp_path / "folds.txt"
    ff.write_bytes(content.encode())
    with pytest.raises(FoldError, match=f"^{tmp_path}/folds.txt" + expected):
        read_fold_file(ff, SPK)


def test_missing_fold_file(tmp_path, data):
    with pytest.raises(FoldError, match="fold file not found"):
        make_folds(data, "file", fold_file=tmp_path / "nope")
    with pytest.raises(FoldError, match="needs a fold file"):
        make_folds(data, "file")


def _utt2spk(d):
    return dict(read_table(Path(d) / "utt2spk"))


def test_make_fold_dirs(tmp_path, data):
    folds = leave_n_out_folds(SPK, 2)
    dirs = make_fold_dirs(data, folds, tmp_path / "cv")
    assert [d.name for d in dirs] == ["fold1", "fold2", "fold3"]
    f1 = tmp_path / "cv" / "fold1"
    assert sorted(set(_utt2spk(f1 / "test").values())) == ["spk1", "spk2"]
    assert sorted(_utt2spk(f1 / "test")) == ["spk1-u00", "spk1-u01", "spk2-u00", "spk2-u01"]
    assert set(_utt2spk(f1 / "dev").values()) == {"spk3"}
    assert set(_utt2spk(f1 / "train").values()) == {"spk4", "spk5"}
    for part in ("train", "dev", "test"):  # every table travels; spk2utt matches
        d = DataDir(f1 / part)
        assert set(d.tables()) >= {"wav.scp", "utt2spk", "spk2utt", "utt2emo", "text"}
        assert set(d.table("wav.scp")) == set(d.utts)
    assert read_fold_file(tmp_path / "cv" / "folds.txt", SPK) == folds
    # a re-run without dev speakers removes the old dev directory and stale tables
    (f1 / "train" / "feats.scp").write_text("spk4-u00 /old.ark:1\n")
    make_fold_dirs(data, leave_n_out_folds(SPK, 2, dev_speakers=0), tmp_path / "cv")
    assert not (f1 / "dev").exists()
    assert not (f1 / "train" / "feats.scp").exists()
    assert set(_utt2spk(f1 / "train").values()) == {"spk3", "spk4", "spk5"}


def test_overlap_is_refused_unless_allowed(tmp_path, data, caplog):
    subset_data_dir(data, tmp_path / "train", spks=["spk1", "spk2", "spk3"])
    subset_data_dir(data, tmp_path / "test", spks=["spk3", "spk4"])
    subset_data_dir(data, tmp_path / "other", spks=["spk5"])
    with pytest.raises(FoldError) as err:
        check_speaker_independent(tmp_path / "train", tmp_path / "test")
    msg = str(err.value)
    assert "share speakers (spk3)" in msg
    assert f"'spk3-u00' at {tmp_path}/train/utt2spk:5" in msg and f"at {tmp_path}/test/utt2spk:1" in msg
    assert "not speaker-independent" in msg and "allow_overlap=True" in msg
    with caplog.at_level(logging.WARNING):
        assert check_speaker_independent(tmp_path / "train", tmp_path / "test", allow_overlap=True) == ["spk3"]
    assert "NOT speaker-independent" in caplog.text
    assert check_speaker_independent(tmp_path / "train", tmp_path / "other") == []


def test_make_fold_dirs_checks_every_fold(tmp_path, data):
    leaky = [Fold("leaky", test=("spk1",), dev=(), train=("spk1", "spk2"))]
    with pytest.raises(FoldError, match=r"leaky/train and .*leaky/test share speakers \(spk1\)"):
        make_fold_dirs(data, leaky, tmp_path / "cv")
    make_fold_dirs(data, leaky, tmp_path / "cv", allow_overlap=True)  # told it is meant
    assert set(_utt2spk(tmp_path / "cv" / "leaky" / "train").values()) == {"spk1", "spk2"}
    dev_leak = [Fold("d", test=("spk1",), dev=("spk1",), train=("spk2",))]
    with pytest.raises(FoldError, match=r"d/dev and .*d/test share speakers \(spk1\)"):
        make_fold_dirs(data, dev_leak, tmp_path / "cv2")
    with pytest.raises(FoldError, match=r"fold 'x': speakers \['ghost'\] are not in"):
        make_fold_dirs(data, [Fold("x", test=("ghost",), dev=(), train=("spk1",))], tmp_path / "cv3")

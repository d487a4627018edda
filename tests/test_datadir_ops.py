"""Data directory validation and operations (fix, subset, copy, combine, split), via the
library and through the utils/*.sh wrappers that users call."""
import pytest

from conftest import UTILS, make_data_dir, run_script
from serkit.data import ops
from serkit.data.datadir import DataDir
from serkit.data.table import read_table, write_table
from serkit.data.validate import validate_data_dir
from serkit.errors import DataDirError, TableError


def _drop(path, key):
    table = dict(read_table(path))
    table.pop(key)
    write_table(path, table)


def test_valid_directory(data_dir):
    report = validate_data_dir(data_dir)
    assert report.ok, report.errors
    proc = run_script([UTILS / "validate_data_dir.sh", data_dir])
    assert "is OK (12 utterances, 3 speakers)" in proc.stdout


def test_utterance_without_label(data_dir):
    _drop(data_dir / "utt2emo", "spkB-u02")
    proc = run_script([UTILS / "validate_data_dir.sh", data_dir], check=False)
    assert proc.returncode == 1
    assert "utt2emo: 1 utterances of utt2spk have no label: 'spkB-u02'" in proc.stderr
    assert "fix_data_dir.sh" in proc.stderr
    (data_dir / "utt2emo").unlink()
    assert validate_data_dir(data_dir, require_emo=False).ok
    assert "utt2emo: missing" in validate_data_dir(data_dir).errors[0]


def test_wav_scp_and_utt2spk_mismatch(data_dir):
    _drop(data_dir / "wav.scp", "spkA-u00")
    wav = dict(read_table(data_dir / "wav.scp"))
    wav["zzz-extra"] = "/nowhere.wav"
    write_table(data_dir / "wav.scp", wav)
    errors = "\n".join(validate_data_dir(data_dir).errors)
    assert "wav.scp: 1 utterances of utt2spk have no audio: 'spkA-u00'" in errors
    assert "wav.scp: 1 keys not in utt2spk: 'zzz-extra'" in errors


def test_unsorted_table_names_line(data_dir):
    lines = (data_dir / "utt2emo").read_text().splitlines()
    lines[2], lines[3] = lines[3], lines[2]
    (data_dir / "utt2emo").write_text("\n".join(lines) + "\n")
    errors = validate_data_dir(data_dir).errors
    assert any("utt2emo:4: not sorted ('spkA-u02' at line 4 sorts before 'spkA-u03')" in e for e in errors), errors


def test_stale_spk2utt(data_dir):
    utt2spk = dict(read_table(data_dir / "utt2spk"))
    utt2spk["spkA-u00"] = "spkB"
    write_table(data_dir / "utt2spk", utt2spk)
    assert any("spk2utt: does not match utt2spk" in e for e in validate_data_dir(data_dir).errors)


def test_duplicate_utterance_id_and_mangled_table(data_dir):
    with open(data_dir / "utt2emo", "a") as f:
        f.write("spkA-u00 happy\n")
    errors = validate_data_dir(data_dir).errors
    assert any("utt2emo:13: duplicate key 'spkA-u00' (first at line 1)" in e for e in errors), errors
    (data_dir / "utt2emo").write_bytes(b"spkA-u00 angry\n  spkA-u01 sad\n")
    assert "utt2emo:2: line starts with whitespace" in validate_data_dir(data_dir).errors[0]


def test_missing_utt2spk(tmp_path):
    (tmp_path / "d").mkdir()
    assert "utt2spk: missing" in validate_data_dir(tmp_path / "d").errors[0]


def test_fix_keeps_intersection_and_backs_up(data_dir):
    _drop(data_dir / "utt2emo", "spkB-u02")
    _drop(data_dir / "wav.scp", "spkC-u00")
    for u in ("spkA-u00", "spkA-u01", "spkA-u02", "spkA-u03"):
        _drop(data_dir / "text", u)
    summary = ops.fix_data_dir(data_dir)
    assert (summary.kept, summary.total) == (6, 12)
    assert summary.missing_from == {"utt2emo": 1, "text": 4, "wav.scp": 1}
    d = DataDir(data_dir)
    assert "spkA" not in d.table("spk2utt")  # speaker with no utterance left is gone
    assert validate_data_dir(data_dir).ok
    assert len(read_table(data_dir / ".backup" / "utt2spk")) == 12
    # a second run keeps the first backup (the originals) and makes its own
    _drop(data_dir / "utt2emo", "spkB-u03")
    again = ops.fix_data_dir(data_dir)
    assert again.kept == 5 and again.backup == str(data_dir / ".backup.2")
    assert len(read_table(data_dir / ".backup" / "utt2spk")) == 12
    assert len(read_table(data_dir / ".backup.2" / "utt2spk")) == 6


def test_subset_by_utt_and_speaker_lists(tmp_path, data_dir):
    (tmp_path / "utts").write_text("spkA-u01\nspkC-u03\n")
    run_script([UTILS / "subset_data_dir.sh", "--utt-list", tmp_path / "utts", data_dir, tmp_path / "sub"])
    assert DataDir(tmp_path / "sub").utts == ["spkA-u01", "spkC-u03"]
    assert set(read_table(tmp_path / "sub" / "wav.scp")) == {"spkA-u01", "spkC-u03"}
    (tmp_path / "spks").write_text("spkB\n")
    run_script([UTILS / "subset_data_dir.sh", "--spk-list", tmp_path / "spks", data_dir, tmp_path / "subspk"])
    assert DataDir(tmp_path / "subspk").utts == [f"spkB-u0{i}" for i in range(4)]
    run_script([UTILS / "subset_data_dir.sh", data_dir, 3, tmp_path / "three"])
    assert DataDir(tmp_path / "three").utts == ["spkA-u00", "spkB-u00", "spkC-u00"]
    for sub in ("sub", "subspk", "three"):
        assert validate_data_dir(tmp_path / sub).ok
    with pytest.raises(DataDirError, match="none of the listed ids"):
        ops.subset_data_dir(data_dir, tmp_path / "none", spks=["nobody"])


def test_copy_with_prefixes(tmp_path, data_dir):
    run_script([UTILS / "copy_data_dir.sh", "--utt-prefix", "sp0.9-", "--spk-prefix", "sp0.9-", data_dir, tmp_path / "sp"])
    d = DataDir(tmp_path / "sp")
    assert d.utts[0] == "sp0.9-spkA-u00"
    assert d.table("utt2spk")["sp0.9-spkA-u00"] == "sp0.9-spkA"
    assert set(d.table("wav.scp")) == set(d.utts)
    assert d.table("utt2emo")["sp0.9-spkB-u01"] == DataDir(data_dir).table("utt2emo")["spkB-u01"]
    assert validate_data_dir(tmp_path / "sp").ok


def test_copy_with_segments_keeps_recording_ids(tmp_path, data_dir):
    utts = DataDir(data_dir).utts
    write_table(data_dir / "segments", {u: f"{u} 0.0 0.3" for u in utts})
    ops.copy_data_dir(data_dir, tmp_path / "c", utt_prefix="x-", spk_prefix="x-")
    d = DataDir(tmp_path / "c")
    assert set(d.table("wav.scp")) == set(utts)
    assert d.segments()["x-spkA-u00"].recording == "spkA-u00"
    assert validate_data_dir(tmp_path / "c").ok


def test_combine_and_duplicate_ids(tmp_path, data_dir):
    other = make_data_dir(tmp_path, "other", speakers=("spkD",), utts_per_spk=2)
    run_script([UTILS / "combine_data.sh", tmp_path / "all", data_dir, other])
    d = DataDir(tmp_path / "all")
    assert len(d.utts) == 14 and validate_data_dir(tmp_path / "all").ok
    proc = run_script([UTILS / "combine_data.sh", tmp_path / "dup", data_dir, data_dir], check=False)
    assert proc.returncode == 1
    assert "utterance 'spkA-u00' is in both" in proc.stderr and "--utt-prefix" in proc.stderr


def test_combine_drops_tables_missing_in_one_source(tmp_path, data_dir, caplog):
    other = make_data_dir(tmp_path, "other", speakers=("spkD",), utts_per_spk=2)
    (other / "text").unlink()
    ops.combine_data(tmp_path / "all", [data_dir, other])
    assert not (tmp_path / "all" / "text").exists()
    assert "text is not in every source" in caplog.text


@pytest.mark.parametrize("per_utt, expect", [(True, [4, 4, 4]), (False, [4, 4, 4])])
def test_split(data_dir, per_utt, expect):
    parts = ops.split_data(data_dir, 3, per_utt=per_utt)
    sizes = [len(DataDir(p).utts) for p in parts]
    assert sizes == expect
    if not per_utt:
        assert [set(DataDir(p).table("utt2spk").values()) for p in parts] == [{"spkA"}, {"spkB"}, {"spkC"}]
    assert sorted(u for p in parts for u in DataDir(p).utts) == DataDir(data_dir).utts
    with pytest.raises(DataDirError, match="cannot split 3 speakers"):
        ops.split_data(data_dir, 4, per_utt=False)


def test_segments_with_bad_times(data_dir):
    write_table(data_dir / "segments", {"spkA-u00": "spkA-u00 1.0 0.5"})
    with pytest.raises(TableError, match="segments:1: segment 'spkA-u00' has end 0.5 <= start 1.0"):
        DataDir(data_dir).segments()


def test_combine_keeps_cmvn_of_disjoint_speakers_and_plain_files(tmp_path, data_dir):
    other = make_data_dir(tmp_path, "other", speakers=("spkD",), utts_per_spk=2)
    for d in (data_dir, other):
        spks = sorted(set(read_table(d / "utt2spk").values()))
        write_table(d / "cmvn.scp", {s: f"/stats.ark:{i}" for i, s in enumerate(spks)})
        (d / "feats_type").write_text("logmel\n")
    ops.combine_data(tmp_path / "all", [data_dir, other])
    assert set(read_table(tmp_path / "all" / "cmvn.scp")) == {"spkA", "spkB", "spkC", "spkD"}
    assert (tmp_path / "all" / "feats_type").read_text() == "logmel\n"
    ops.subset_data_dir(tmp_path / "all", tmp_path / "sub", spks=["spkD"])
    assert (tmp_path / "sub" / "feats_type").read_text() == "logmel\n"
    same_spk = make_data_dir(tmp_path, "again", speakers=("spkA",), utts_per_spk=1)
    ops.copy_data_dir(same_spk, tmp_path / "again2", utt_prefix="x-")
    write_table(tmp_path / "again2" / "cmvn.scp", {"spkA": "/s.ark:1"})
    ops.combine_data(tmp_path / "shared", [data_dir, tmp_path / "again2"])
    assert not (tmp_path / "shared" / "cmvn.scp").exists()  # spkA in both: stats must be recomputed


def test_a_misspelt_label_is_reported_with_its_line_and_the_label_it_resembles(data_dir):
    emo = read_table(data_dir / "utt2emo")
    rows = dict(emo)
    rows["spkB-u01"] = "angyr"
    write_table(data_dir / "utt2emo", rows)
    proc = run_script([UTILS / "validate_data_dir.sh", data_dir])  # a warning, not an error
    line = list(rows).index("spkB-u01") + 1
    assert f"utt2emo:{line}: label 'angyr' (1 utterances) is not one of the canonical labels" in proc.stderr
    assert "did you mean 'angry'?" in proc.stderr


def test_training_warns_about_a_class_of_one(tmp_path):
    import sys

    import yaml

    from conftest import TINY_MODEL, make_feature_dir

    d = make_feature_dir(tmp_path, "train", speakers=("a", "b"), utts_per_spk=9)
    rows = dict(read_table(d / "utt2emo"))
    rows["a-004"] = "angyr"
    write_table(d / "utt2emo", rows)
    conf = tmp_path / "train.yaml"
    conf.write_text(yaml.safe_dump({"model": {"name": "parallel_crnn", **TINY_MODEL}, "scheduler": {"name": "cosine"},
                                    "train": {"max_epochs": 1, "early_stop_patience": 0, "num_threads": 1}}))
    proc = run_script([sys.executable, "-m", "serkit.bin.train", "--config", conf, "--train-data", d,
                       "--exp-dir", tmp_path / "exp"])
    assert "utt2emo:5: class 'angyr' has only 1 utterances (median class 5.5)" in proc.stderr
    assert "did you mean 'angry'?" in proc.stderr

"""utils/make_feats.sh and utils/compute_cmvn_stats.sh end to end, with bad audio."""
import os
from pathlib import Path

import numpy as np
import pytest

from conftest import UTILS, make_data_dir, run_script
from serkit.data.audio import load_audio
from serkit.data.datadir import DataDir
from serkit.data.table import read_table
from serkit.feats.ark import load_scp
from serkit.feats.cmvn import accumulate
from serkit.feats.frontends import build_frontend
from serkit.feats.config import FeatureConfig

kio = pytest.importorskip("kaldi_native_io")


def test_parallel_extraction_writes_sorted_feats_and_frames(tmp_path, data_dir):
    proc = run_script([UTILS / "make_feats.sh", "--nj", 2, "--feat-type", "fbank", data_dir, tmp_path / "log", tmp_path / "feats"])
    assert "feats.scp (12 of 12 utterances)" in proc.stdout
    d = DataDir(data_dir)
    feats = read_table(data_dir / "feats.scp")
    assert list(feats) == sorted(d.utts)
    frames = read_table(data_dir / "utt2num_frames")
    mats = load_scp(data_dir / "feats.scp")
    frontend = build_frontend(FeatureConfig(feat_type="fbank"))
    wav = d.table("wav.scp")
    for utt, mat in mats.items():
        assert int(frames[utt]) == mat.shape[0]
        np.testing.assert_allclose(mat, frontend(load_audio(wav[utt])), atol=1e-5)
    prefix = f"make_fbank_{tmp_path.name}_data"  # <parent>_<name> for a directory not directly under data/
    assert sorted(p.name for p in (tmp_path / "log").glob("*.log")) == [f"{prefix}.1.log", f"{prefix}.2.log"]
    assert not (data_dir / "split2utt").exists()
    reader = kio.RandomAccessFloatMatrixReader(f"scp:{data_dir / 'feats.scp'}")
    np.testing.assert_array_equal(np.asarray(reader[d.utts[0]]), mats[d.utts[0]])
    run_script([UTILS / "validate_data_dir.sh", data_dir])


def test_cmvn_global_and_per_speaker(tmp_path, data_dir):
    run_script([UTILS / "make_feats.sh", "--nj", 1, data_dir])  # logmel by default, into <data>/data
    mats = load_scp(data_dir / "feats.scp")
    utt2spk = read_table(data_dir / "utt2spk")
    run_script([UTILS / "compute_cmvn_stats.sh", data_dir])
    glob = load_scp(data_dir / "cmvn.scp")
    assert set(glob) == set(utt2spk.values())
    np.testing.assert_allclose(glob["spkA"], accumulate(mats.values()))
    np.testing.assert_array_equal(glob["spkA"], glob["spkC"])
    run_script([UTILS / "compute_cmvn_stats.sh", "--per-speaker", data_dir])
    reader = kio.RandomAccessDoubleMatrixReader(f"scp:{data_dir / 'cmvn.scp'}")
    own = accumulate(m for u, m in mats.items() if utt2spk[u] == "spkB")
    np.testing.assert_allclose(np.asarray(reader["spkB"]), own)
    assert np.asarray(reader["spkB"]).shape == (2, 129)


def _corrupt(data_dir, utts):
    wav = read_table(data_dir / "wav.scp")
    for utt in utts:
        with open(wav[utt], "wb") as f:
            f.write(b"RIFF\x00\x00garbage")


def test_unreadable_audio_is_a_counted_logged_skip_then_fix(tmp_path, data_dir):
    _corrupt(data_dir, ["spkB-u01"])
    proc = run_script([UTILS / "make_feats.sh", "--nj", 2, "--max-skip-fraction", 0.5, data_dir, tmp_path / "log"])
    assert "11 of 12 utterances" in proc.stdout
    assert "1 utterances could not be read" in proc.stderr and "fix_data_dir.sh" in proc.stderr
    logs = "".join(p.read_text() for p in (tmp_path / "log").glob("*.log"))
    assert "skipping utterance 'spkB-u01'" in logs and "not readable audio" in logs
    bad = run_script([UTILS / "validate_data_dir.sh", data_dir], check=False)
    assert bad.returncode == 1 and "feats.scp: 1 utterances of utt2spk have no entry: 'spkB-u01'" in bad.stderr
    fixed = run_script([UTILS / "fix_data_dir.sh", data_dir])
    assert "kept 11 of 12 utterances; dropped 1 (1 not in feats.scp, 1 not in utt2num_frames)" in fixed.stdout
    run_script([UTILS / "validate_data_dir.sh", data_dir])


def test_too_many_failures_fail_the_job_and_leave_no_feats_scp(tmp_path, data_dir):
    run_script([UTILS / "make_feats.sh", "--nj", 2, data_dir, tmp_path / "log", tmp_path / "f"])
    assert (data_dir / "feats.scp").exists()
    _corrupt(data_dir, ["spkA-u00", "spkA-u01", "spkA-u02"])
    proc = run_script([UTILS / "make_feats.sh", "--nj", 2, data_dir, tmp_path / "log", tmp_path / "f"], check=False)
    assert proc.returncode != 0
    assert "feature extraction failed; see" in proc.stderr and f"make_logmel_{tmp_path.name}_data.*.log" in proc.stderr
    job1 = (tmp_path / "log" / f"make_logmel_{tmp_path.name}_data.1.log").read_text()
    assert "3 of 6 utterances" in job1 and "could not be read" in job1
    # the old feats.scp (pointing into arks about to be replaced) is gone, none is half-written
    assert not (data_dir / "feats.scp").exists()
    assert not list((tmp_path / "f").glob("*.tmp"))


def test_bad_config_fails_before_any_job(tmp_path, data_dir):
    conf = tmp_path / "feats.yaml"
    conf.write_text("feat_type: logmel\nlogmel:\n  nmels: 64\n")
    proc = run_script([UTILS / "make_feats.sh", "--config", conf, data_dir], check=False)
    assert proc.returncode != 0
    assert f"{conf}:3: unknown option 'logmel.nmels'" in proc.stderr
    assert not (data_dir / "log").exists()


def test_resampling_in_extraction(tmp_path):
    d = make_data_dir(tmp_path, rate=44100, speakers=("s1",), utts_per_spk=2, seconds=1.0)
    run_script([UTILS / "make_feats.sh", "--nj", 1, d])
    frames = read_table(d / "utt2num_frames")
    assert int(frames["s1-u00"]) == 1 + (16000 - 400) // 160  # 1 s at 16 kHz, 25 ms / 10 ms


def _dims(data_dir):
    return {m.shape[1] for m in load_scp(data_dir / "feats.scp").values()}


def test_a_second_extraction_into_a_locked_dir_fails_and_changes_nothing(tmp_path, data_dir):
    import fcntl

    run_script([UTILS / "make_feats.sh", "--nj", 1, "--feat-type", "fbank", data_dir])
    before = (data_dir / "feats.scp").read_text()
    with open(data_dir / ".lock", "w") as held:  # as a running make_feats.sh holds it
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        for script in ([UTILS / "make_feats.sh", "--nj", 1, "--feat-type", "logmel", data_dir],
                       [UTILS / "compute_cmvn_stats.sh", data_dir]):
            proc = run_script(script, check=False)
            assert proc.returncode == 1
            assert f"is writing into {data_dir} (it holds {data_dir}/.lock)" in proc.stderr
    assert (data_dir / "feats.scp").read_text() == before and (data_dir / "feats_type").read_text() == "fbank\n"
    run_script([UTILS / "make_feats.sh", "--nj", 1, "--feat-type", "logmel", data_dir])  # released: runs


def test_two_concurrent_extractions_leave_one_consistent_result(tmp_path, data_dir):
    """Started together with different front ends: whichever reports success owns the directory,
    and feats_type, feats_config.yaml and the features themselves all agree with it."""
    import subprocess
    import sys

    env = {"PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}", "LC_ALL": "C"}
    procs = {
        ft: subprocess.Popen([str(UTILS / "make_feats.sh"), "--nj", "2", "--feat-type", ft, str(data_dir)],
                             env={**os.environ, **env}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for ft in ("fbank", "logmel")
    }
    codes = {ft: p.wait() for ft, p in procs.items()}
    winners = [ft for ft, code in codes.items() if code == 0]
    assert winners, {ft: p.stderr.read() for ft, p in procs.items()}
    final = (data_dir / "feats_type").read_text().strip()
    assert final in winners
    assert _dims(data_dir) == {build_frontend(FeatureConfig(feat_type=final)).dim}
    assert f"feat_type: {final}" in (data_dir / "feats_config.yaml").read_text()
    for ft, code in codes.items():
        if code != 0:
            assert "holds" in procs[ft].stderr.read()

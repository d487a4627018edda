"""Kaldi ark/scp interop: serkit's arks read by kaldiio and kaldi-native-io; theirs accepted."""
import numpy as np
import pytest

from serkit.feats.ark import AtomicArkWriter, load_scp
from serkit.feats.cmvn import accumulate, apply_cmvn

kio = pytest.importorskip("kaldi_native_io")
knf = pytest.importorskip("kaldi_native_fbank")
import kaldiio  # noqa: E402


def _mats(seed=0):
    rng = np.random.default_rng(seed)
    return {f"utt{i}": rng.standard_normal((20 + 7 * i, 5)).astype(np.float32) for i in range(4)}


def test_serkit_ark_is_read_identically_by_kaldiio_and_kaldi_native_io(tmp_path):
    mats = _mats()
    with AtomicArkWriter(tmp_path / "f.ark", tmp_path / "f.scp") as w:
        for k, m in mats.items():
            w.write(k, m)
    by_kaldiio = kaldiio.load_scp(str(tmp_path / "f.scp"))
    reader = kio.RandomAccessFloatMatrixReader(f"scp:{tmp_path / 'f.scp'}")
    for k, m in mats.items():
        np.testing.assert_array_equal(by_kaldiio[k], m)
        np.testing.assert_array_equal(np.asarray(reader[k]), m)
    # and the ark read sequentially, without the scp
    seq = dict(kaldiio.load_ark(str(tmp_path / "f.ark")))
    assert list(seq) == list(mats)


def test_ark_written_by_kaldi_native_io_is_accepted(tmp_path):
    mats = _mats(1)
    with kio.FloatMatrixWriter(f"ark,scp:{tmp_path / 'k.ark'},{tmp_path / 'k.scp'}") as w:
        for k, m in mats.items():
            w.write(k, m)
    ours = load_scp(tmp_path / "k.scp")
    for k, m in mats.items():
        np.testing.assert_array_equal(ours[k], m)


def test_failed_write_leaves_no_ark_or_scp(tmp_path):
    with pytest.raises(RuntimeError):
        with AtomicArkWriter(tmp_path / "f.ark", tmp_path / "f.scp") as w:
            w.write("a", np.ones((3, 2), dtype=np.float32))
            raise RuntimeError("interrupted")
    assert list(tmp_path.iterdir()) == []


def test_cmvn_stats_match_kaldi_layout_and_application():
    mats = list(_mats(2).values())
    ours = accumulate(mats)
    ref = sum(knf.compute_cmvn_stats(m) for m in mats)
    np.testing.assert_allclose(ours[0], ref[0], rtol=1e-10)
    np.testing.assert_allclose(ours[1, :-1], ref[1, :-1], rtol=1e-10)
    opts = knf.CmvnOptions()
    opts.norm_vars = True
    np.testing.assert_allclose(apply_cmvn(mats[0], ours), knf.apply_cmvn(ref, opts, mats[0]), atol=1e-5)
    opts.norm_vars = False
    np.testing.assert_allclose(apply_cmvn(mats[0], ours, norm_vars=False), knf.apply_cmvn(ref, opts, mats[0]), atol=1e-5)

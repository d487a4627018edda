"""Front ends: Kaldi-compatible fbank/MFCC against kaldi-native-fbank, the design's log-mel."""
import numpy as np
import pytest
import soundfile as sf

from conftest import emodb_wavs, voiced_signal
from serkit.errors import AudioError, ConfigError
from serkit.feats.frontends import build_frontend
from serkit.feats.config import FeatureConfig, LogMelConfig, LogMelProsodyConfig, load_feature_config

knf = pytest.importorskip("kaldi_native_fbank")

# Largest difference we accept between serkit (torchaudio.compliance.kaldi) and
# kaldi-native-fbank on the same 16-bit audio, in natural-log mel-energy units (fbank) and in
# cepstral units (MFCC). Measured on EmoDB speech: fbank 0.0037, MFCC 0.0013 (float32 rounding).
FBANK_TOL = 0.01
MFCC_TOL = 0.005


def _reference(samples: np.ndarray, kind: str) -> np.ndarray:
    if kind == "fbank":
        opts = knf.FbankOptions()
        opts.mel_opts.num_bins = 80
    else:
        opts = knf.MfccOptions()
        opts.num_ceps = 13
        opts.mel_opts.num_bins = 23
        opts.use_energy = True
    opts.frame_opts.dither = 0.0
    opts.frame_opts.samp_freq = 16000
    comp = (knf.OnlineFbank if kind == "fbank" else knf.OnlineMfcc)(opts)
    comp.accept_waveform(16000, (samples * 32768).tolist())
    comp.input_finished()
    return np.array([comp.get_frame(i) for i in range(comp.num_frames_ready)])


def _compare(samples, kind, tol):
    ours = build_frontend(FeatureConfig(feat_type=kind))(samples)
    ref = _reference(samples, kind)
    assert ours.shape == ref.shape
    assert np.max(np.abs(ours - ref)) < tol


@pytest.mark.parametrize("kind, tol", [("fbank", FBANK_TOL), ("mfcc", MFCC_TOL)])
def test_kaldi_features_match_kaldi_native_fbank_on_speech_like_audio(kind, tol):
    _compare(voiced_signal(1.2, seed=3), kind, tol)


@pytest.mark.parametrize("kind, tol", [("fbank", FBANK_TOL), ("mfcc", MFCC_TOL)])
def test_kaldi_features_match_kaldi_native_fbank_on_real_speech(kind, tol):
    for path in emodb_wavs(2):
        samples, rate = sf.read(path, dtype="float32")
        assert rate == 16000
        _compare(samples, kind, tol)


def test_logmel_is_128_bins_25ms_hamming_10ms_shift():
    frontend = build_frontend(FeatureConfig(feat_type="logmel"))
    samples = voiced_signal(1.0)
    feats = frontend(samples)
    # 25 ms window (400 samples) every 10 ms (160), no padding: 1 + (16000 - 400) // 160 frames
    assert feats.shape == (1 + (16000 - 400) // 160, 128)
    assert frontend.dim == 128
    assert np.all(np.isfinite(feats))


def slaney_filterbank(n_freqs: int, rate: int, n_mels: int, low: float, high: float) -> np.ndarray:
    """Triangular filters on the Slaney mel scale (Auditory Toolbox, librosa's default), written
    from the formulas: linear below 1 kHz (200/3 Hz per mel), logarithmic above (a factor of 6.4
    per 27 mels); peak 1, no area normalisation. ``[n_freqs, n_mels]``."""
    def hz_to_mel(hz):
        hz = np.asarray(hz, dtype=np.float64)
        return np.where(hz < 1000.0, hz / (200.0 / 3), 15.0 + 27.0 * np.log(np.maximum(hz, 1e-9) / 1000.0) / np.log(6.4))

    def mel_to_hz(mel):
        return np.where(mel < 15.0, mel * 200.0 / 3, 1000.0 * np.exp((mel - 15.0) * np.log(6.4) / 27.0))

    edges = mel_to_hz(np.linspace(hz_to_mel(low), hz_to_mel(high), n_mels + 2))
    freqs = np.linspace(0, rate / 2, n_freqs)
    fb = np.zeros((n_freqs, n_mels))
    for m in range(n_mels):
        left, centre, right = edges[m], edges[m + 1], edges[m + 2]
        rising, falling = (freqs - left) / (centre - left), (right - freqs) / (right - centre)
        fb[:, m] = np.maximum(0.0, np.minimum(rising, falling))
    return fb


def test_logmel_filterbank_is_the_slaney_scale():
    """The filterbank against one built here from the Slaney formulas, not from the code under test."""
    fb = build_frontend(FeatureConfig(feat_type="logmel")).logmel.mel_fb.numpy()
    ours = slaney_filterbank(513, 16000, 128, 20.0, 8000.0)
    np.testing.assert_allclose(fb, ours, atol=1e-4)  # torchaudio computes in float32
    htk = build_frontend(FeatureConfig(feat_type="logmel", logmel=LogMelConfig(mel_scale="htk"))).logmel.mel_fb.numpy()
    assert np.abs(htk - ours).max() > 0.1  # the other scale is told apart


def test_logmel_matches_an_independent_numpy_computation():
    frontend = build_frontend(FeatureConfig(feat_type="logmel"))
    samples = voiced_signal(0.3, seed=5)
    feats = frontend(samples)
    win = np.hamming(400)  # numpy's symmetric Hamming window
    frame = samples[160 * 7: 160 * 7 + 400] * win
    power = np.abs(np.fft.rfft(frame, 1024)) ** 2
    fb = slaney_filterbank(513, 16000, 128, 20.0, 8000.0)  # independent of the code under test
    np.testing.assert_allclose(feats[7], np.log(power @ fb + 1e-6), rtol=1e-3, atol=1e-3)


def test_logmel_tone_peaks_in_the_right_band():
    frontend = build_frontend(FeatureConfig(feat_type="logmel"))
    t = np.arange(16000) / 16000
    fb = frontend.logmel.mel_fb.numpy()
    centres = (np.arange(fb.shape[0]) * 8000 / (fb.shape[0] - 1)) @ fb / fb.sum(0)
    for hz in (300.0, 1000.0, 4000.0):
        feats = frontend((0.3 * np.sin(2 * np.pi * hz * t)).astype(np.float32))
        peak = int(np.argmax(feats.mean(0)))
        assert abs(centres[peak] - hz) < 0.06 * hz + 30


def test_spectrogram_dim():
    feats = build_frontend(FeatureConfig(feat_type="spectrogram"))(voiced_signal(0.5))
    assert feats.shape[1] == 257


def test_audio_shorter_than_a_frame_is_an_audio_error():
    with pytest.raises(AudioError, match="shorter than one 25 ms frame"):
        build_frontend(FeatureConfig(feat_type="fbank"))(np.zeros(100, dtype=np.float32))


def test_config_yaml_sections_and_override(tmp_path):
    conf = tmp_path / "feats.yaml"
    conf.write_text("feat_type: fbank\nsample_rate: 16000\nfbank:\n  num_mel_bins: 40\n")
    cfg = load_feature_config(conf)
    assert cfg.feat_type == "fbank" and cfg.fbank.num_mel_bins == 40
    assert load_feature_config(conf, "logmel").feat_type == "logmel"


@pytest.mark.parametrize(
    "text, expected",
    [
        ("feat_type: fbank\nfbank:\n  num_mel_bin: 40\n", r"feats.yaml:3: unknown option 'fbank.num_mel_bin'; did you mean 'num_mel_bins'"),
        ("feat_type: fbnak\n", r"feat_type 'fbnak' is not one of"),
        ("fbank:\n  num_mel_bins: many\n", r"feats.yaml:2: 'fbank.num_mel_bins' must be int"),
        ("logmel:\n  num_mel_bins: 512\n  n_fft: 512\n", r"leave some filters empty"),
        ("feat_type: fbank\n  sample_rate: 16000\n", r"feats.yaml:2: not valid YAML"),
    ],
)
def test_bad_config_names_file_line_and_fix(tmp_path, text, expected):
    conf = tmp_path / "feats.yaml"
    conf.write_text(text)
    with pytest.raises(ConfigError, match=expected):
        build_frontend(load_feature_config(conf))


def test_logmel_config_rejects_bad_scale():
    with pytest.raises(ValueError, match="mel_scale"):
        LogMelConfig(mel_scale="bark")


def test_every_feature_section_has_a_front_end():
    from serkit.feats.config import FEAT_TYPES
    from serkit.feats.frontends import FRONTENDS

    assert set(FRONTENDS) == set(FEAT_TYPES) == {"fbank", "mfcc", "spectrogram", "logmel", "pcen", "logmel_prosody"}


def test_pcen_follows_its_formula_and_shrugs_off_the_level():
    import torch

    frontend = build_frontend(FeatureConfig(feat_type="pcen"))
    samples = voiced_signal(1.0, seed=4)
    out = frontend(samples)
    c = frontend.config
    energy = frontend.logmel.power(torch.from_numpy(samples)[None])[0].double().numpy() * c.power_scale
    t = c.time_constant * 16000 / 160
    b = (np.sqrt(1 + 4 * t * t) - 1) / (2 * t * t)
    smooth = np.empty_like(energy)
    smooth[0] = energy[0]
    for k in range(1, len(energy)):  # the smoother written out, frame by frame
        smooth[k] = (1 - b) * smooth[k - 1] + b * energy[k]
    want = (energy / (c.eps + smooth) ** c.alpha + c.delta) ** c.r - c.delta ** c.r
    np.testing.assert_allclose(out, want, rtol=1e-4, atol=1e-5)
    quiet = frontend(samples * 0.01)  # 40 dB down: log-mel moves by 9.2 everywhere, PCEN hardly
    assert np.abs(quiet - out).mean() < 0.3 * out.std()
    logmel = build_frontend(FeatureConfig(feat_type="logmel"))
    assert np.abs(logmel(samples * 0.01) - logmel(samples)).mean() > 8


def test_logmel_prosody_appends_opensmile_descriptors_that_track_the_pitch():
    pytest.importorskip("opensmile", reason="the baseline extra (openSMILE) is not installed")
    frontend = build_frontend(FeatureConfig(feat_type="logmel_prosody"))
    names = frontend.lld.names
    assert len(names) == 25 and frontend.dim == 128 + 25
    low, high = voiced_signal(1.0, f0=110.0, seed=1), voiced_signal(1.0, f0=220.0, seed=1)
    out = frontend(low)
    np.testing.assert_array_equal(out[:, :128], build_frontend(FeatureConfig(feat_type="logmel"))(low))
    assert not np.isnan(out).any()
    f0 = names.index("F0semitoneFrom27.5Hz_sma3nz") + 128
    voiced = lambda feats: feats[20:-20, f0][feats[20:-20, f0] > 0]  # noqa: E731
    # 12 * log2(110 / 27.5) = 24 semitones; an octave up is 12 more
    assert abs(np.median(voiced(out)) - 24.0) < 1.0
    assert abs(np.median(voiced(frontend(high))) - np.median(voiced(out)) - 12.0) < 1.0
    short = frontend(low[:800])  # 50 ms: openSMILE cannot measure it all; rows are padded, NaN is 0
    assert short.shape == (1 + (800 - 400) // 160, 153) and not np.isnan(short).any()


def test_logmel_prosody_keeps_the_10ms_shift_of_the_descriptors():
    with pytest.raises(ValueError, match="keep frame_shift: 10.0"):
        LogMelProsodyConfig(frame_shift=20.0)
    pytest.importorskip("opensmile", reason="the baseline extra (openSMILE) is not installed")
    with pytest.raises(ConfigError, match="lld_set 'MFCC' is not one of eGeMAPSv02"):
        build_frontend(FeatureConfig(feat_type="logmel_prosody", logmel_prosody=LogMelProsodyConfig(lld_set="MFCC")))

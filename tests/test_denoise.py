"""Spectral subtraction: it lowers stationary noise and leaves a clean signal nearly alone."""
import numpy as np
import pytest

from conftest import voiced_signal
from serkit.feats.frontends import build_frontend
from serkit.feats.config import FeatureConfig
from serkit.feats.denoise import DenoiseConfig, spectral_subtraction


def _snr(clean, x):
    return 10 * np.log10(np.sum(clean ** 2) / np.sum((x - clean) ** 2))


def _gated(seconds=2.0):
    """Speech-like bursts with pauses between them (the quiet frames give the noise estimate)."""
    sig = voiced_signal(seconds, seed=2)
    gate = (np.sin(2 * np.pi * 1.5 * np.arange(len(sig)) / 16000) > -0.3).astype(np.float32)
    return sig * gate


@pytest.mark.parametrize("estimate", ["quantile", "leading"])
def test_white_noise_is_reduced(estimate):
    clean = _gated()
    noisy = clean + 0.03 * np.random.default_rng(0).standard_normal(len(clean)).astype(np.float32)
    if estimate == "leading":
        noisy = np.concatenate([0.03 * np.random.default_rng(1).standard_normal(2400).astype(np.float32), noisy])
        clean = np.concatenate([np.zeros(2400, np.float32), clean])
    out = spectral_subtraction(noisy, 16000, DenoiseConfig(enabled=True, noise_estimate=estimate))
    assert out.shape == noisy.shape
    assert _snr(clean, out) > _snr(clean, noisy) + 3.0


def test_feature_config_applies_it_before_the_front_end():
    clean = _gated(1.0)
    noisy = clean + 0.03 * np.random.default_rng(0).standard_normal(len(clean)).astype(np.float32)
    plain = build_frontend(FeatureConfig(feat_type="logmel"))
    denoised = build_frontend(FeatureConfig(feat_type="logmel", denoise=DenoiseConfig(enabled=True)))
    ref = plain(clean)
    assert np.abs(denoised(noisy) - ref).mean() < np.abs(plain(noisy) - ref).mean()


def test_bad_denoise_options():
    with pytest.raises(ValueError, match="noise_estimate 'median'"):
        DenoiseConfig(noise_estimate="median")

"""Offline augmentation: waveform perturbations and augmented copies of Kaldi data directories.

:mod:`serkit.augment.waveform` holds the perturbations (speed, noise, reverberation);
:mod:`serkit.augment.datadir` writes data directories whose wav.scp entries apply them on read
through ``python -m serkit.bin.wav_perturb ... |`` pipes.
"""
from serkit.augment.waveform import limit_peak, mix_noise, reverberate, simulated_rir, speed_perturb, to_pcm16

__all__ = ["limit_peak", "mix_noise", "reverberate", "simulated_rir", "speed_perturb", "to_pcm16"]

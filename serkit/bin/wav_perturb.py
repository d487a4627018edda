"""Perturb one recording: speed, then reverberation, then additive noise; write 16-bit PCM WAV.

This is the command behind augmented wav.scp entries (utils/perturb_data_dir_speed.sh,
utils/augment_data_dir.sh), e.g.

  python -m serkit.bin.wav_perturb --speed 0.9 a.wav - |
  python -m serkit.bin.wav_perturb --noise /n/street.wav --noise-offset 3.2 --snr 10 a.wav - |
  sox a.flac -t wav - | python -m serkit.bin.wav_perturb --sim-rt60 0.5 --sim-seed 7 - - |

<input> is a wav.scp-style entry (a path, an ark offset or a 'command |') or '-' for a WAV on
stdin; <output> a path or '-' for stdout. Everything is resampled to --sample-rate first.
serkit itself runs a single such command in-process (see serkit.data.audio.read_raw) and gets
exactly the samples written here. torch is imported only when speed or reverberation is asked.
"""
from __future__ import annotations

import argparse
import functools
import io
import logging
import sys
from typing import List, Optional, Tuple

import numpy as np
import soundfile as sf

from serkit.augment.waveform import limit_peak, mix_noise, reverberate, simulated_rir, speed_perturb, to_pcm16
from serkit.data.audio import DEFAULT_SAMPLE_RATE, decode_audio, load_audio
from serkit.errors import SerkitError
from serkit.utils import cli

logger = logging.getLogger("serkit")


class _Parser(argparse.ArgumentParser):
    """Bad arguments raise :class:`SerkitError` (not SystemExit), also when run in-process."""

    def error(self, message: str):  # type: ignore[override]
        raise SerkitError(message)


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="wav_perturb", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("-v", "--verbose", action="count", default=0, help="more logging")
    p.add_argument("--speed", type=float, default=1.0, help="speed factor (changes duration AND pitch)")
    p.add_argument("--noise", help="wav.scp-style entry of the noise recording")
    p.add_argument("--noise-offset", type=float, default=0.0, help="seconds into the noise where mixing starts")
    p.add_argument("--snr", type=float, help="signal-to-noise ratio in dB (with --noise)")
    p.add_argument("--rir", help="wav.scp-style entry of a room impulse response")
    p.add_argument("--sim-rt60", type=float, help="reverberate with a simulated RIR of this RT60 (seconds)")
    p.add_argument("--sim-seed", type=int, default=0, help="random seed of the simulated RIR")
    p.add_argument("--sample-rate", type=int, help=f"rate to work and write at (default {DEFAULT_SAMPLE_RATE})")
    p.add_argument("input", help="wav.scp-style entry, or '-' for a WAV on stdin")
    p.add_argument("output", help="output WAV path, or '-' for stdout")
    return p


def parse_args(argv: List[str]) -> argparse.Namespace:
    args = build_parser().parse_args(argv)
    if (args.noise is None) != (args.snr is None):
        raise SerkitError("--noise and --snr go together")
    if args.rir is not None and args.sim_rt60 is not None:
        raise SerkitError("give --rir or --sim-rt60, not both")
    if args.noise_offset < 0:
        raise SerkitError(f"--noise-offset must be >= 0 seconds, got {args.noise_offset}")
    if args.sample_rate is not None and args.sample_rate <= 0:
        raise SerkitError(f"--sample-rate must be positive, got {args.sample_rate}")
    return args


@functools.lru_cache(maxsize=16)
def _load_shared(entry: str, rate: int, what: str) -> np.ndarray:
    """Noise recordings and RIRs are reused across utterances: read each once per process."""
    samples = load_audio(entry, rate, what)
    samples.setflags(write=False)
    return samples


def _read_input(entry: str, rate: int) -> np.ndarray:
    if entry == "-":
        return decode_audio(sys.stdin.buffer.read(), rate, "wav_perturb: stdin")
    return load_audio(entry, rate, f"wav_perturb: input '{entry}'")


def perturb(args: argparse.Namespace, sample_rate: int = DEFAULT_SAMPLE_RATE) -> Tuple[np.ndarray, int]:
    """Apply the perturbations in ``args``; ``(samples, rate)``, quantised as the WAV output is."""
    rate = args.sample_rate or sample_rate
    samples = _read_input(args.input, rate)
    if args.speed != 1.0:
        samples = speed_perturb(samples, rate, args.speed)
    if args.rir is not None:
        samples = reverberate(samples, _load_shared(args.rir, rate, f"wav_perturb: --rir '{args.rir}'"))
    elif args.sim_rt60 is not None:
        rir = simulated_rir(rate, args.sim_rt60, np.random.default_rng(args.sim_seed))
        samples = reverberate(samples, rir)
    if args.noise is not None:
        noise = _load_shared(args.noise, rate, f"wav_perturb: --noise '{args.noise}'")
        samples = mix_noise(samples, noise, args.snr, int(round(args.noise_offset * rate)))
    pcm = to_pcm16(limit_peak(samples))
    return (pcm.astype(np.float32) / np.float32(32768.0)), rate


def perturb_from_args(argv: List[str], sample_rate: int = DEFAULT_SAMPLE_RATE) -> Tuple[np.ndarray, int]:
    """What ``wav_perturb ARGV`` writes, as mono float32 ``(samples, rate)``.

    ``sample_rate`` is the working rate when ARGV has no ``--sample-rate``; it must stay the
    command-line default for the result to equal the command's output.
    """
    return perturb(parse_args(argv), sample_rate)


def write_wav(path: str, samples: np.ndarray, rate: int) -> None:
    """Write 16-bit PCM (WAV, or FLAC for a .flac path); '-' writes a WAV to stdout."""
    pcm = to_pcm16(samples)
    if path == "-":
        buf = io.BytesIO()
        sf.write(buf, pcm, rate, format="WAV", subtype="PCM_16")
        sys.stdout.buffer.write(buf.getvalue())
        sys.stdout.buffer.flush()
        return
    fmt = "FLAC" if path.lower().endswith(".flac") else "WAV"
    try:
        sf.write(path, pcm, rate, format=fmt, subtype="PCM_16")
    except (sf.LibsndfileError, RuntimeError, OSError) as err:
        raise SerkitError(f"cannot write '{path}' ({err})") from None


def main(argv: List[str]) -> Optional[int]:
    args = parse_args(argv)
    cli.setup_logging(args.verbose)
    samples, rate = perturb(args)
    write_wav(args.output, samples, rate)
    return 0


if __name__ == "__main__":
    cli.run(main, prog="wav_perturb")

"""One recording's perturbation, as augmented wav.scp entries write it down.

An augmented entry is a shell pipe, ``python -m serkit.bin.wav_perturb OPTIONS <input> - |``,
valid for Kaldi tools and anyone else. :class:`Perturbation` is what such a command does: speed,
then reverberation, then additive noise, in that fixed order; :func:`parse` reads its words,
:func:`options` writes them back, :func:`command_argv` recognises a single such command in a
wav.scp entry, and :func:`apply` computes the samples the command would write, so serkit can run
it in-process instead of spawning Python per utterance (serkit.data.audio.read_raw). Nothing here
reads files: :func:`apply` is given the function that loads audio.
"""
from __future__ import annotations

import argparse
import os
import re
import shlex
from dataclasses import dataclass
from typing import Callable, List, Optional, Tuple

import numpy as np

from serkit.augment.waveform import limit_peak, mix_noise, reverberate, simulated_rir, speed_perturb, to_pcm16
from serkit.data.resample import DEFAULT_SAMPLE_RATE
from serkit.errors import SerkitError

WAV_PERTURB = "python -m serkit.bin.wav_perturb"
STAGE_ORDER = {"speed": 0, "reverb": 1, "noise": 2}  # the order the stages apply in


@dataclass
class Perturbation:
    input: str = "-"  # a wav.scp-style entry, or '-' for a WAV on stdin
    output: str = "-"  # a path, or '-' for stdout
    speed: float = 1.0  # changes duration AND pitch
    noise: Optional[str] = None  # wav.scp-style entry of the noise recording
    noise_offset: float = 0.0  # seconds into the noise where mixing starts
    snr: Optional[float] = None  # dB, with noise
    rir: Optional[str] = None  # wav.scp-style entry of a room impulse response
    sim_rt60: Optional[float] = None  # or a simulated RIR of this RT60 (seconds)
    sim_seed: int = 0
    sample_rate: Optional[int] = None  # the rate to work and write at

    def __post_init__(self) -> None:
        if (self.noise is None) != (self.snr is None):
            raise SerkitError("--noise and --snr go together")
        if self.rir is not None and self.sim_rt60 is not None:
            raise SerkitError("give --rir or --sim-rt60, not both")
        if self.noise_offset < 0:
            raise SerkitError(f"--noise-offset must be >= 0 seconds, got {self.noise_offset}")
        if self.sample_rate is not None and self.sample_rate <= 0:
            raise SerkitError(f"--sample-rate must be positive, got {self.sample_rate}")

    def stages(self) -> List[int]:
        out = []
        if self.speed != 1.0:
            out.append(STAGE_ORDER["speed"])
        if self.rir is not None or self.sim_rt60 is not None:
            out.append(STAGE_ORDER["reverb"])
        if self.noise is not None:
            out.append(STAGE_ORDER["noise"])
        return out


class _Parser(argparse.ArgumentParser):
    """Bad arguments raise :class:`SerkitError` (not SystemExit), also when run in-process."""

    def error(self, message: str):  # type: ignore[override]
        raise SerkitError(message)


def build_parser(description: str = "") -> argparse.ArgumentParser:
    """The command's arguments (``serkit.bin.wav_perturb`` adds nothing but ``--verbose``)."""
    p = _Parser(prog="wav_perturb", description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
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


def from_namespace(ns: argparse.Namespace) -> Perturbation:
    return Perturbation(ns.input, ns.output, ns.speed, ns.noise, ns.noise_offset, ns.snr, ns.rir, ns.sim_rt60,
                        ns.sim_seed, ns.sample_rate)


def parse(argv: List[str]) -> Perturbation:
    """The perturbation of ``wav_perturb ARGV``; bad words raise SerkitError."""
    return from_namespace(build_parser().parse_args(argv))


def num(x: float) -> str:
    """Shortest exact text of a number: 0.9, 10, 0.35."""
    text = repr(float(x))
    return text[:-2] if text.endswith(".0") else text


def options(p: Perturbation) -> List[str]:
    """The canonical command-line options of ``p`` (positionals excluded)."""
    out: List[str] = []
    if p.speed != 1.0:
        out += ["--speed", num(p.speed)]
    if p.rir is not None:
        out += ["--rir", p.rir]
    if p.sim_rt60 is not None:
        out += ["--sim-rt60", num(p.sim_rt60), "--sim-seed", str(p.sim_seed)]
    if p.noise is not None:
        out += ["--noise", p.noise, "--noise-offset", num(p.noise_offset), "--snr", num(p.snr)]
    if p.sample_rate:
        out += ["--sample-rate", str(p.sample_rate)]
    return out


# A wav.scp pipe that is exactly one wav_perturb command can run in-process; anything that needs
# a shell (a second command, redirections, expansions, globs) must go to bash.
_SHELL_SPECIAL = set("$`\\*?[]{}~!#\n\r")  # expansions, globs, escapes, comments: leave them to bash
_OPERATOR_CHARS = set("();<>|&")
_PYTHON = re.compile(r"^python[0-9.]*$")
_MODULE = ["-m", "serkit.bin.wav_perturb"]


def command_argv(command: str) -> Optional[List[str]]:
    """The arguments of ``command`` if it is exactly ``<python> -m serkit.bin.wav_perturb ARGS -``.

    ``command`` is a pipe entry without its trailing ``|``. None when it is anything else: more
    than one command, or shell syntax beyond plain words and quotes (where bash could expand,
    glob or redirect something, only bash knows what the command does).
    """
    if _SHELL_SPECIAL.intersection(command):
        return None
    lexer = shlex.shlex(command, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    try:
        tokens = list(lexer)
    except ValueError:  # unbalanced quotes
        return None
    if any(tok and set(tok) <= _OPERATOR_CHARS for tok in tokens):  # |, ;, &&, >, 2>&1 ...
        return None
    if len(tokens) < 5 or not _PYTHON.match(os.path.basename(tokens[0])) or tokens[1:3] != _MODULE:
        return None
    argv = tokens[3:]
    return argv if argv[-1] == "-" else None


def merged(command: str, more: List[str]) -> Optional[str]:
    """One wav_perturb command doing ``command``'s work and then the options ``more``, if possible.

    Possible when ``command`` is a single wav_perturb command and all of its stages come before
    the new ones in the fixed order (speed, reverb, noise): e.g. a speed-perturbed copy that then
    gets noise. The result equals the chained pipe up to the 16-bit rounding between the two
    commands, and is read in-process instead of two spawns.
    """
    argv = command_argv(command)
    if argv is None:
        return None
    try:
        old, new = parse(argv), parse(more + ["-", "-"])
    except SerkitError:
        return None
    old_stages, new_stages = old.stages(), new.stages()
    if old.input == "-" or old.sample_rate != new.sample_rate or not new_stages:
        return None
    if old_stages and max(old_stages) >= min(new_stages):
        return None
    # the new stages are absent from the old command: copy their settings over
    if new.speed != 1.0:
        old.speed = new.speed
    if STAGE_ORDER["reverb"] in new_stages:
        old.rir, old.sim_rt60, old.sim_seed = new.rir, new.sim_rt60, new.sim_seed
    if STAGE_ORDER["noise"] in new_stages:
        old.noise, old.noise_offset, old.snr = new.noise, new.noise_offset, new.snr
    return f"{WAV_PERTURB} {shlex.join(options(old) + [old.input, '-'])} |"


Loader = Callable[[str, int, str], np.ndarray]  # (wav.scp entry, rate, what) -> mono float32 samples


def apply(p: Perturbation, load: Loader, load_shared: Optional[Loader] = None,
          sample_rate: int = DEFAULT_SAMPLE_RATE) -> Tuple[np.ndarray, int]:
    """The samples ``wav_perturb`` writes for ``p``: ``(samples, rate)``, quantised to 16 bits as
    its WAV output is. ``load`` reads the input (also '-', stdin, if it can); ``load_shared``
    (default ``load``) the noise and RIR recordings, which a caller may cache."""
    load_shared = load_shared or load
    rate = p.sample_rate or sample_rate
    samples = load(p.input, rate, f"wav_perturb: input '{p.input}'")
    if p.speed != 1.0:
        samples = speed_perturb(samples, rate, p.speed)
    if p.rir is not None:
        samples = reverberate(samples, load_shared(p.rir, rate, f"wav_perturb: --rir '{p.rir}'"))
    elif p.sim_rt60 is not None:
        samples = reverberate(samples, simulated_rir(rate, p.sim_rt60, np.random.default_rng(p.sim_seed)))
    if p.noise is not None:
        noise = load_shared(p.noise, rate, f"wav_perturb: --noise '{p.noise}'")
        samples = mix_noise(samples, noise, p.snr, int(round(p.noise_offset * rate)))
    pcm = to_pcm16(limit_peak(samples))
    return pcm.astype(np.float32) / np.float32(32768.0), rate

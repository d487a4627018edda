"""Perturb one recording: speed, then reverberation, then additive noise; write 16-bit PCM WAV.

This is the command behind augmented wav.scp entries (utils/perturb_data_dir_speed.sh,
utils/augment_data_dir.sh), e.g.

  python -m serkit.bin.wav_perturb --speed 0.9 a.wav - |
  python -m serkit.bin.wav_perturb --noise /n/street.wav --noise-offset 3.2 --snr 10 a.wav - |
  sox a.flac -t wav - | python -m serkit.bin.wav_perturb --sim-rt60 0.5 --sim-seed 7 - - |

<input> is a wav.scp-style entry (a path, an ark offset or a 'command |') or '-' for a WAV on
stdin; <output> a path or '-' for stdout. Everything is resampled to --sample-rate first.
What it does is serkit.augment.perturb's: serkit itself runs a single such command in-process
(serkit.data.audio.read_raw) and gets exactly the samples written here.
"""
from __future__ import annotations

import io
import sys
from typing import List, Optional

import numpy as np
import soundfile as sf

from serkit.augment import perturb
from serkit.augment.waveform import to_pcm16
from serkit.data.audio import decode_audio, load_audio
from serkit.errors import SerkitError
from serkit.utils import cli


def _load(entry: str, rate: int, what: str) -> np.ndarray:
    if entry == "-":
        return decode_audio(sys.stdin.buffer.read(), rate, "wav_perturb: stdin")
    return load_audio(entry, rate, what)


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
    parser = perturb.build_parser(__doc__)
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more logging")
    args = parser.parse_args(argv)
    cli.setup_logging(args.verbose)
    samples, rate = perturb.apply(perturb.from_namespace(args), _load)
    write_wav(args.output, samples, rate)
    return 0


if __name__ == "__main__":
    cli.run(main, prog="wav_perturb")

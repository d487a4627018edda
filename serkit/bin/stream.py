"""Streaming emotion recognition: one estimate per hop over a sliding window (console: serkit-stream).

    arecord -f S16_LE -r 16000 -c 1 -t raw | serkit-stream --model exp/x/export/model.onnx --raw
    serkit-stream --model exp/x/final.pt recording.wav --window 2.0 --hop 0.5

Reads a file (any format soundfile reads, block by block) or stdin ('-', the default): a WAV
stream (recognised by its RIFF header; 16/32-bit PCM or 32-bit float) or raw 16-bit
little-endian PCM at --sample-rate (--raw forces raw). Audio at another rate than the model's is
resampled as it arrives (logged). Every window that completes is printed at once as a JSON line
{"start", "end", "label", "posteriors", "silent", "partial", "latency_ms"}; the final line on
stderr gives the number of windows, the latency per hop and the real-time factor (single thread
unless --num-threads). See serkit.infer.streaming for what is reused across windows and CMVN.
"""
from __future__ import annotations

import json
import logging
import sys
from typing import List

from serkit.utils import cli

logger = logging.getLogger("serkit.stream")


class _Prefixed:
    """A byte stream whose first 4 bytes have been read (to spot a WAV header) and are replayed."""

    def __init__(self, stream) -> None:
        self.stream = stream
        self.head = stream.read(4) or b""
        self._replay = self.head

    def read(self, n: int = -1) -> bytes:
        if self._replay:
            data, self._replay = self._replay[:n] if n >= 0 else self._replay, self._replay[n:] if n >= 0 else b""
            return data if n < 0 or len(data) == n else data + self.stream.read(n - len(data))
        return self.stream.read(n)


def main(argv: List[str]) -> int:
    p = cli.parser(__doc__, prog="serkit-stream")
    p.add_argument("input", nargs="?", default="-", help="audio file, or '-' for stdin (default)")
    p.add_argument("--model", required=True, help="checkpoint (final.pt), model.onnx / model_int8.onnx, or model.ts")
    p.add_argument("--window", type=float, default=2.0, help="seconds of audio per estimate")
    p.add_argument("--hop", type=float, default=0.5, help="seconds between estimates")
    p.add_argument("--cmvn", choices=("global", "running"), default="global",
                   help="global training stats, or stats of the stream so far")
    p.add_argument("--raw", action="store_true", help="stdin is raw 16-bit PCM even if it looks like WAV")
    p.add_argument("--sample-rate", type=int, default=16000, help="rate of raw PCM on stdin")
    p.add_argument("--channels", type=int, default=1, help="channels of raw PCM on stdin (mixed down)")
    p.add_argument("--block", type=float, default=0.1, help="seconds read per block")
    p.add_argument("--num-threads", type=int, default=1)
    p.add_argument("--feats-config", help="conf/feats.yaml, for checkpoints that do not record theirs")
    args = p.parse_args(argv)
    cli.setup_logging(args.verbose)
    import torch

    from serkit.errors import SerkitError
    from serkit.data.resample import ChunkResampler
    from serkit.infer.audio_stream import file_blocks, pcm_blocks
    from serkit.infer.recognizer import Recognizer
    from serkit.infer.streaming import StreamingRecognizer

    if args.window <= 0 or args.hop <= 0 or args.block <= 0:
        raise SerkitError("--window, --hop and --block must be positive")
    torch.set_num_threads(args.num_threads)
    rec = Recognizer.load(args.model, args.feats_config, args.num_threads)
    stream = StreamingRecognizer(rec, args.window, args.hop, args.cmvn)
    if args.input == "-":
        source = _Prefixed(sys.stdin.buffer)
        wav = not args.raw and source.head == b"RIFF"
        rate, blocks = pcm_blocks(source, args.sample_rate, args.channels, args.block, wav=wav)
        what = "stdin"
    else:
        rate, blocks = file_blocks(args.input, args.block)
        what = args.input
    resampler = ChunkResampler(rate, rec.sample_rate)
    if rate != rec.sample_rate:
        logger.info("%s: resampling from %d Hz to the model's %d Hz as the audio arrives", what, rate, rec.sample_rate)
    out = sys.stdout

    def emit(events) -> None:
        for event in events:
            out.write(json.dumps(event.as_dict()) + "\n")
        if events:
            out.flush()

    for block in blocks:
        emit(stream.push(resampler.push(block)))
    emit(stream.push(resampler.flush()))
    emit(stream.flush())
    s = stream.stats.summary()
    print(f"serkit-stream: {s['events']} windows over {s['audio_seconds']:.2f} s of audio; latency per hop "
          f"median {s['latency_ms_median']:.2f} ms, p95 {s['latency_ms_p95']:.2f} ms; RTF {s['rtf']:.4f} "
          f"({args.num_threads} thread{'s' if args.num_threads != 1 else ''}, {rec.backend.name})", file=sys.stderr)
    return 0


def entry() -> None:
    """Console script ``serkit-stream`` (setup.py: ``serkit-stream = serkit.bin.stream:entry``)."""
    cli.run(main, prog="serkit-stream")


if __name__ == "__main__":
    entry()

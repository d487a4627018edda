"""Recognise the emotion of audio files with a trained or exported model (console: serkit-infer).

    serkit-infer --model exp/x/final.pt a.wav b.flac                  # JSON lines on stdout
    serkit-infer --model exp/x/export/model.onnx --wav-scp data/test/wav.scp --utt2spk data/test/utt2spk \\
        --format ark --output exp/x/infer/posteriors.ark
    serkit-infer --model exp/x/export/model_int8.onnx recordings/ --format table

Inputs: audio files, ``*.scp`` tables (Kaldi wav.scp entries: files, pipes, ark offsets) and
directories (searched recursively; every file soundfile can read counts as audio). Outputs:
``jsonl`` ({"utt", "label", "posteriors", "silent", "seconds"} a line), ``ark`` (posterior vectors in
the order of the model's labels) or ``table``. Model: a serkit checkpoint (PyTorch back end), an
exported ``.onnx`` (onnxruntime) or ``.ts`` (TorchScript), recognised by file name.

CMVN: with --utt2spk/--spk2utt every speaker's statistics are computed over their input
utterances (as training did); otherwise the global statistics of the training features are used.
Long inputs: memory depends on a window, not on the input's length. An input longer than
--max-seconds (60) is scored in windows of that length and gets their duration-weighted mean (with a
warning); --segment S gives one estimate per S-second segment instead ({"start", "end"} in jsonl).

Silent inputs (< -60 dBFS) get a prediction flagged "silent": true. Unreadable or too short
audio stops the run with a message naming it, or with --skip-errors is logged and left out. In a
directory every file is either recognised or listed as skipped with its reason (not audio, empty,
dangling link); the summary counts them all.
"""
from __future__ import annotations

import logging
import time
from typing import List

from serkit.utils import cli

logger = logging.getLogger("serkit.infer")


def main(argv: List[str]) -> int:
    p = cli.parser(__doc__, prog="serkit-infer")
    p.add_argument("inputs", nargs="*", help="audio files, *.scp tables, directories")
    p.add_argument("--model", required=True, help="checkpoint (final.pt), model.onnx / model_int8.onnx, or model.ts")
    p.add_argument("--wav-scp", help="a Kaldi wav.scp of inputs")
    spk = p.add_mutually_exclusive_group()
    spk.add_argument("--utt2spk", help="speakers of the inputs: per-speaker CMVN as in training")
    spk.add_argument("--spk2utt", help="as --utt2spk, the other way round")
    p.add_argument("--format", choices=("jsonl", "ark", "table", "utt2pred"), default="jsonl")
    p.add_argument("--output", default="-", help="output file ('-': stdout)")
    p.add_argument("--segment", type=float, metavar="SECONDS",
                   help="one estimate per segment of this length (keys <utt>-<start>-<end> in centiseconds)")
    p.add_argument("--segment-hop", type=float, metavar="SECONDS", help="with --segment: step between segments "
                   "(default: the segment length, no overlap)")
    p.add_argument("--max-seconds", type=float, default=60.0, help="without --segment, longer inputs are scored in "
                   "windows of this length and get their mean posteriors (memory stays bounded)")
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--num-threads", type=int, default=1)
    p.add_argument("--feats-config", help="conf/feats.yaml, for checkpoints that do not record theirs")
    p.add_argument("--skip-errors", action="store_true", help="log and leave out unreadable or too short audio")
    args = p.parse_args(argv)
    cli.setup_logging(args.verbose)
    from serkit.errors import SerkitError
    from serkit.infer.io import Writer, collect_inputs, read_speakers
    from serkit.infer.offline import OfflineRecognizer, Skip
    from serkit.infer.recognizer import Recognizer

    if args.segment_hop is not None and args.segment is None:
        raise SerkitError("--segment-hop needs --segment")
    entries, rejected = collect_inputs(args.inputs, args.wav_scp)
    bad_audio = [r for r in rejected if r.looks_like_audio]
    if bad_audio and not args.skip_errors:
        raise SerkitError(f"{bad_audio[0].path}: {bad_audio[0].reason}; remove it, or pass --skip-errors to leave "
                          f"out the {len(bad_audio)} unusable audio files")
    for r in rejected:
        logger.warning("skipping %s: %s", r.path, r.reason)
    speakers = read_speakers(list(entries), args.utt2spk, args.spk2utt) if (args.utt2spk or args.spk2utt) else None
    rec = Recognizer.load(args.model, args.feats_config, args.num_threads, batch_size=args.batch_size)
    start = time.perf_counter()
    engine = OfflineRecognizer(rec, args.max_seconds, args.segment, args.segment_hop, args.skip_errors)
    outcome = engine.run(entries, speakers)
    outcome.skipped = [Skip(r.path, r.reason) for r in rejected] + outcome.skipped
    if not outcome.results:
        raise SerkitError(f"none of the {len(entries)} inputs could be recognised (see the warnings above)")
    writer = Writer(args.format, args.output, rec.labels)
    ok = False
    try:
        for utt in entries:
            for key, pred in outcome.results.get(utt, []):
                writer.write(key, pred)
        ok = True
    finally:
        writer.close(ok)
    elapsed = time.perf_counter() - start
    preds = [pred for keyed in outcome.results.values() for _, pred in keyed]
    audio_seconds = sum(pred.seconds for pred in preds) if args.segment is None else None
    reasons = ", ".join(f"{n} {why}" for why, n in sorted(outcome.reasons().items()))
    logger.info(
        "%d inputs: %d recognised%s, %d skipped%s; %d silent; %.2f s (%s back end%s)",
        len(entries) + len(rejected), len(outcome.results),
        f" ({len(preds)} segments)" if args.segment is not None else "", len(outcome.skipped),
        f" ({reasons})" if reasons else "", sum(p.silent for p in preds), elapsed, rec.backend.name,
        f", RTF {elapsed / max(audio_seconds, 1e-9):.4f}" if audio_seconds else "",
    )
    return 0


def entry() -> None:
    """Console script ``serkit-infer`` (setup.py: ``serkit-infer = serkit.bin.infer:entry``)."""
    cli.run(main, prog="serkit-infer")


if __name__ == "__main__":
    entry()

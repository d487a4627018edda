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
Silent inputs (< -60 dBFS) get a prediction flagged "silent": true. Unreadable or too short
audio stops the run with a message naming it, or with --skip-errors is logged and left out.
"""
from __future__ import annotations

import logging
import time
from collections import defaultdict
from typing import Dict, List

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
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--num-threads", type=int, default=1)
    p.add_argument("--feats-config", help="conf/feats.yaml, for checkpoints that do not record theirs")
    p.add_argument("--skip-errors", action="store_true", help="log and leave out unreadable or too short audio")
    args = p.parse_args(argv)
    cli.setup_logging(args.verbose)
    from serkit.errors import AudioError, SerkitError
    from serkit.infer.io import Writer, collect_inputs, read_speakers
    from serkit.infer.recognizer import Recognizer

    entries = collect_inputs(args.inputs, args.wav_scp)
    speakers = read_speakers(list(entries), args.utt2spk, args.spk2utt) if (args.utt2spk or args.spk2utt) else None
    rec = Recognizer.load(args.model, args.feats_config, args.num_threads, batch_size=args.batch_size)
    start = time.perf_counter()
    groups: Dict[str, List[str]] = defaultdict(list)
    for utt in entries:
        groups[speakers[utt] if speakers else ""].append(utt)
    results, skipped, audio_seconds = {}, [], 0.0
    for spk, utts in groups.items():
        waves, feats = {}, {}
        for utt in utts:
            try:
                waves[utt] = rec.read_audio(entries[utt], f"'{utt}' ({entries[utt]})")
                feats[utt] = rec.features(waves[utt], None, f"'{utt}' ({entries[utt]})")
            except AudioError as err:
                if not args.skip_errors:
                    raise
                logger.warning("skipping: %s", err)
                skipped.append(utt)
                waves.pop(utt, None)
        if not feats:
            continue
        cmvn = rec.speaker_cmvn(list(feats.values())) if speakers else None
        names = list(feats)
        post = rec.posteriors([rec.normalize(feats[u], cmvn) for u in names])
        for utt, row in zip(names, post):
            results[utt] = rec.prediction(row, waves[utt], f"'{utt}'")
            audio_seconds += results[utt].seconds
    if not results:
        raise SerkitError(f"none of the {len(entries)} inputs could be recognised (see the warnings above)")
    writer = Writer(args.format, args.output, rec.labels)
    ok = False
    try:
        for utt in entries:
            if utt in results:
                writer.write(utt, results[utt])
        ok = True
    finally:
        writer.close(ok)
    elapsed = time.perf_counter() - start
    silent = sum(r.silent for r in results.values())
    logger.info(
        "%d utterances (%.1f s of audio) in %.2f s (RTF %.4f, %s back end); %d silent, %d skipped",
        len(results), audio_seconds, elapsed, elapsed / max(audio_seconds, 1e-9), rec.backend.name, silent, len(skipped),
    )
    return 0


def entry() -> None:
    """Console script ``serkit-infer`` (setup.py: ``serkit-infer = serkit.bin.infer:entry``)."""
    cli.run(main, prog="serkit-infer")


if __name__ == "__main__":
    entry()

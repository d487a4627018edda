"""Export a trained checkpoint for deployment: TorchScript, ONNX, end-to-end ONNX, INT8, model card.

    python -m serkit.bin.export --model exp/x/final.pt --out-dir exp/x/export \\
        [--waveform] [--int8] [--static-int8 --calib-data data/dev] [--scores exp/x/results/summary.json]

Writes model.ts (TorchScript, features -> posteriors), model.onnx (feats [B, T, D] + lengths [B]
-> posteriors), with --waveform model_waveform.onnx (16 kHz waveform + sample lengths, optional
cmvn_mean/cmvn_std -> posteriors; logmel models only), with --int8 model_int8.onnx and
model_int8.ts (dynamic INT8), with --static-int8 model_static_int8.onnx (QDQ convolutions,
calibrated on --calib-data features), and model_card.json; then prints size and single-thread
CPU latency per second of audio for every file. Every .onnx also carries the card in its metadata.
"""
from __future__ import annotations

import gzip
import json
import logging
from pathlib import Path
from typing import Dict, List

import torch

from serkit.utils import cli

logger = logging.getLogger("serkit.export")


def _calibration(data_dir: str, meta, count: int):
    from serkit.data.datadir import DataDir
    from serkit.loader.examples import load_examples
    from serkit.errors import SerkitError

    if not DataDir(data_dir).has("feats.scp"):
        raise SerkitError(f"--calib-data {data_dir} has no feats.scp; extract features with utils/make_feats.sh")
    examples = load_examples(data_dir, None, cmvn=meta.cmvn, norm_vars=meta.norm_vars, show_progress=False)
    if examples[0].feats.shape[1] != meta.input_dim:
        raise SerkitError(f"--calib-data {data_dir} has {examples[0].feats.shape[1]}-dim features, the model {meta.input_dim}")
    return [ex.feats for ex in examples[:count] if len(ex.feats) >= meta.min_frames]


def _fp32(info: Dict) -> Dict:
    """An fp32 graph's description minus its own parity check, for its quantised copies."""
    return {k: v for k, v in info.items() if k != "check_max_abs_diff"}


def main(argv: List[str]) -> int:
    p = cli.parser(__doc__)
    p.add_argument("--model", required=True, help="serkit checkpoint (final.pt)")
    p.add_argument("--out-dir", required=True)
    p.add_argument("--waveform", action="store_true", help="also the end-to-end graph (waveform in)")
    p.add_argument("--int8", action="store_true", help="also dynamic INT8 (ONNX and TorchScript)")
    p.add_argument("--static-int8", action="store_true", help="also static INT8 convolutions (needs --calib-data)")
    p.add_argument("--calib-data", help="data directory with feats.scp for static INT8 calibration")
    p.add_argument("--calib-utts", type=int, default=32)
    p.add_argument("--scores", help="scores JSON (e.g. results/summary.json) recorded as the card's metrics")
    p.add_argument("--feats-config", help="conf/feats.yaml, for checkpoints that do not record theirs")
    p.add_argument("--opset", type=int, default=17)
    p.add_argument("--tensorrt", action="store_true", help="also time a TensorRT engine (skipped, with the reason, without an NVIDIA GPU)")
    p.add_argument("--no-torchscript", action="store_true")
    p.add_argument("--latency-seconds", type=float, default=3.0, help="utterance length for the latency column")
    p.add_argument("--latency-repeats", type=int, default=10, help="0 skips the latency measurement")
    args = p.parse_args(argv)
    cli.setup_logging(args.verbose)
    from serkit.errors import SerkitError
    from serkit.export import card as cards
    from serkit.export import onnx_export as ox
    from serkit.export import quantize as qz

    if args.static_int8 and not args.calib_data:
        raise SerkitError("--static-int8 needs --calib-data (a data directory with feats.scp)")
    torch.set_num_threads(1)
    scores = cards.load_scores(args.scores) if args.scores else None
    state = cards.load_serkit_checkpoint(args.model)
    from serkit.models import uses_text

    if uses_text(state["model_name"]):
        raise SerkitError(
            f"{args.model} is a text or fusion model ({state['model_name']}); export it with "
            f"'python -m serkit.bin.export_text' (this exporter takes acoustic models)"
        )
    model, meta = cards.model_and_meta(state, args.model, args.feats_config)
    nonzero = int(sum(int((p != 0).sum()) for p in model.parameters()))  # < parameters after pruning
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    files: Dict[str, Dict] = {}
    if not args.no_torchscript:
        files["model.ts"] = ox.export_torchscript(model, meta, out / "model.ts", {"meta": meta.to_dict()})
    files["model.onnx"] = ox.export_onnx(model, meta, out / "model.onnx", args.opset)
    if args.waveform:
        files["model_waveform.onnx"] = ox.export_waveform_onnx(model, meta, out / "model_waveform.onnx", args.opset)
    if args.int8:
        qz.quantize_onnx_dynamic(out / "model.onnx", out / "model_int8.onnx")
        files["model_int8.onnx"] = {**_fp32(files["model.onnx"]), "quantization": "dynamic int8 (onnxruntime)"}
        qz.save_torch_int8(model, meta.input_dim, out / "model_int8.ts", {cards.TORCHSCRIPT_CARD_FILE: json.dumps({"meta": meta.to_dict()})})
        files["model_int8.ts"] = {**ox.FEATS_IO, "format": "torchscript", "quantization": "dynamic int8 (torch.ao)"}
    if args.static_int8:
        calib = _calibration(args.calib_data, meta, args.calib_utts)
        qz.quantize_onnx_static(out / "model.onnx", out / "model_static_int8.onnx", calib)
        files["model_static_int8.onnx"] = {**_fp32(files["model.onnx"]), "quantization": f"static int8 QDQ Conv ({len(calib)} utts)"}
    for name in files:  # the card goes into every graph first, so the sizes below are final
        if name.endswith(".onnx"):
            ox.embed_card(out / name, cards.build_card(meta, {name: files[name]}, scores, qz.count_parameters(model)))
    rows = []
    for name, info in files.items():
        path = out / name
        info["size_bytes"] = qz.file_size_bytes(path)
        info["parameters"] = qz.count_parameters(model)  # the model's; "nonzero_parameters" counts the same ones
        info["stored_values"] = qz.count_parameters(model if name.endswith(".ts") else path)  # ONNX folds BatchNorm
        if args.latency_repeats > 0:
            target = torch.jit.load(str(path)) if name.endswith(".ts") else path
            info["latency_s_per_audio_s_1thread"] = qz.latency_per_audio_second(
                target, args.latency_seconds, threads=1, input_dim=meta.input_dim,
                sample_rate=meta.sample_rate, repeats=args.latency_repeats)
        rows.append((name, info))
    card = cards.build_card(meta, files, scores, parameters=qz.count_parameters(model))
    cards.write_card(card, out / "model_card.json")
    summary = {name: {**info, "gzip_bytes": len(gzip.compress((out / name).read_bytes())),
                      "nonzero_parameters": nonzero} for name, info in rows}
    (out / "export_summary.json").write_text(json.dumps(summary, indent=2, default=str) + "\n")
    print(f"{'file':<26}{'size KB':>10}{'params':>10}{'ms per audio s (1 thread)':>28}")
    for name, info in rows:
        lat = info.get("latency_s_per_audio_s_1thread")
        lat_text = f"{lat * 1000:.2f}" if lat is not None else "-"
        print(f"{name:<26}{info['size_bytes'] / 1024:>10.1f}{info['parameters']:>10}{lat_text:>28}")
    if args.tensorrt:
        from serkit.export.tensorrt import time_tensorrt

        trt = time_tensorrt(out / "model.onnx", meta.input_dim, args.latency_seconds)
        summary["tensorrt"] = trt
        (out / "export_summary.json").write_text(json.dumps(summary, indent=2, default=str) + "\n")
        if trt["status"] == "ok":
            print(f"TensorRT (fp16): {1000 * trt['latency_s_per_audio_s']:.2f} ms per audio s")
        else:
            print(f"TensorRT: skipped: {trt['reason']}")
    print(f"export: {len(files)} files and model_card.json in {out}")
    return 0


if __name__ == "__main__":
    cli.run(main, prog="export")

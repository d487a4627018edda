"""Export a model that reads transcripts (text_only, early_fusion, intermediate_fusion) to ONNX.

    python -m serkit.bin.export_text --model exp/train_intermediate_fusion/fold1/final.pt \\
        --out-dir exp/train_intermediate_fusion/fold1/export

Writes model.onnx (feats [B, T, D] + lengths [B] + tokens [B, L] + token_lengths [B] ->
posteriors; text_only: tokens and token_lengths only), spm.model (the sentencepiece model that
makes the tokens; also base64 in the graph's ``serkit_multimodal_card`` metadata with the labels
and feature settings) and labels.txt. The graph is checked against PyTorch on a new batch shape.
serkit.bin.export is for the acoustic models; see serkit/text/onnx_export.py for what does not
export (Transformer text encoders, INT8, waveform input).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import List

from serkit.utils import cli


def main(argv: List[str]) -> int:
    p = cli.parser(__doc__)
    p.add_argument("--model", required=True, help="serkit checkpoint (final.pt) of a text-reading model")
    p.add_argument("--out-dir", required=True)
    p.add_argument("--opset", type=int, default=17)
    args = p.parse_args(argv)
    cli.setup_logging(args.verbose)
    import torch

    from serkit.data.table import write_label_list
    from serkit.text.onnx_export import export_text_onnx
    from serkit.train.checkpoint import load_checkpoint

    torch.set_num_threads(1)
    state = load_checkpoint(args.model)
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    info = export_text_onnx(state, out / "model.onnx", args.opset)
    (out / "spm.model").write_bytes(bytes(state["spm_model"]))
    write_label_list(out / "labels.txt", list(state["labels"]))
    (out / "export_summary.json").write_text(json.dumps({"model.onnx": info}, indent=2) + "\n")
    print(f"export_text: {out / 'model.onnx'} (inputs {', '.join(info['inputs'])}; max |diff| to PyTorch "
          f"{info['check_max_abs_diff']:.1e}), spm.model, labels.txt")
    return 0


if __name__ == "__main__":
    cli.run(main, prog="export_text")

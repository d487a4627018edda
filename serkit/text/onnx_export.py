"""ONNX export of the models that read transcripts (text_only, early_fusion, intermediate_fusion).

The acoustic exporter (:mod:`serkit.export.onnx_export`) wraps ``model(feats, lengths)`` and so
cannot take these models. This module builds the same kind of feature-level graph with two more
inputs, using the acoustic exporter's pieces unchanged (the export-friendly recurrent encoders of
:func:`serkit.export.modules.deployable`, :func:`serkit.export.onnx_export.verify_onnx`)::

    feats [B, T, D] float32, lengths [B] int64,          (CMVN-normalised features, as model.onnx)
    tokens [B, L] int64, token_lengths [B] int64         (sentencepiece ids; 0 pieces = no transcript)
        -> posteriors [B, classes]

``text_only`` reads no audio, so its graph has only the two text inputs. Frames and pieces past
each length are zeroed in the graph, so a padded utterance gets what it gets alone. The graph is
checked after export on a new batch size, new lengths and an utterance without text, and must
declare symbolic batch, frame and piece axes. The sentencepiece model, labels and feature
settings go into the ONNX metadata (``serkit_multimodal_card``, a key of its own: serkit-infer and
serkit-stream, which feed audio only, do not mistake these graphs for theirs).

Not exportable: ``text_encoder: transformer``. Traced through the TorchScript-based exporter,
``nn.TransformerEncoderLayer`` either becomes the fused ``aten::_transformer_encoder_layer_fwd``
(no ONNX symbolic) or, with the fast path off, a graph whose attention reshapes are frozen to the
example batch size (onnxruntime fails on any other); the check above catches it, so it is
refused up front. No INT8 or end-to-end (waveform) graph either: those are the acoustic
exporter's, and the tokenizer is not part of any graph.
"""
from __future__ import annotations

import base64
import contextlib
import io
from typing import Any, Dict, Mapping

import numpy as np
import torch
from torch import nn

from serkit.errors import SerkitError
from serkit.models.layers import lengths_to_mask
from serkit.models import model_from_checkpoint, uses_text

METADATA_KEY = "serkit_multimodal_card"
OPSET = 17
INPUTS = ("feats", "lengths", "tokens", "token_lengths")
DYNAMIC = {"feats": [0, 1], "lengths": [0], "tokens": [0, 1], "token_lengths": [0]}


class TextFeaturePosteriors(nn.Module):
    """``(feats, lengths, tokens, token_lengths) -> posteriors``, padding zeroed in the graph."""

    def __init__(self, model: nn.Module, convert: bool = True) -> None:
        super().__init__()
        from serkit.export.modules import deployable

        self.model = deployable(model) if convert else model

    def forward(self, feats: torch.Tensor, lengths: torch.Tensor, tokens: torch.Tensor,
                token_lengths: torch.Tensor) -> torch.Tensor:
        lengths = lengths.clamp(min=1)
        feats = feats * lengths_to_mask(lengths, feats.shape[1]).unsqueeze(-1).to(feats.dtype)
        tokens = tokens * lengths_to_mask(token_lengths, tokens.shape[1]).to(tokens.dtype)
        return torch.softmax(self.model(feats, lengths, tokens, token_lengths), dim=-1)


def _example(dim: int, vocab: int, frames, pieces, seed: int):
    gen = torch.Generator().manual_seed(seed)
    return (torch.randn(len(frames), max(frames), dim, generator=gen), torch.tensor(frames, dtype=torch.int64),
            torch.randint(2, vocab, (len(pieces), max(max(pieces), 1)), generator=gen),
            torch.tensor(pieces, dtype=torch.int64))


def card(state: Mapping[str, Any]) -> Dict[str, Any]:
    """What a deployment needs besides the graph: labels, features, CMVN, the tokenizer."""
    data = (state.get("config") or {}).get("data", {})
    stats = state.get("global_cmvn")
    return {
        "format": "serkit-multimodal-card", "version": 1, "labels": [str(x) for x in state["labels"]],
        "model_name": str(state["model_name"]), "input_dim": int(state["input_dim"]),
        "inputs": list(INPUTS) if state["model_name"] != "text_only" else ["tokens", "token_lengths"],
        "feats_config": state.get("feats_config"), "cmvn": bool(data.get("cmvn", True)),
        "norm_vars": bool(data.get("norm_vars", True)),
        "global_cmvn": np.asarray(stats, dtype=np.float64).tolist() if stats is not None else None,
        "text": dict(data.get("text", {})),
        "spm_model_base64": base64.b64encode(bytes(state["spm_model"])).decode("ascii"),
    }


def export_text_onnx(state: Mapping[str, Any], path, opset: int = OPSET) -> Dict[str, Any]:
    """Export the checkpoint ``state`` of a text-reading model to ``path``; return what was checked."""
    from serkit.export.onnx_export import embed_card, quiet_export, require_onnx, verify_onnx

    require_onnx()
    import onnx

    name = str(state["model_name"])
    if not uses_text(name):
        raise SerkitError(f"model '{name}' reads no transcripts; export it with serkit.bin.export")
    if state.get("spm_model") is None:
        raise SerkitError(f"model '{name}': the checkpoint holds no sentencepiece model (spm_model); retrain it")
    if dict(state["model_options"]).get("text_encoder", "lstm") == "transformer":
        raise SerkitError("text_encoder: transformer does not export to ONNX (nn.TransformerEncoderLayer traces to "
                          "a fused op without ONNX symbolic, or to reshapes frozen to the example batch); "
                          "train with text_encoder: lstm to deploy")
    model = model_from_checkpoint(state)
    dim, vocab = int(state["input_dim"]), int(state["model_options"]["vocab_size"])
    wrapper, reference = TextFeaturePosteriors(model).eval(), TextFeaturePosteriors(model, convert=False).eval()
    example = _example(dim, vocab, (173, 121), (9, 5), seed=0)
    with torch.no_grad(), quiet_export(), contextlib.redirect_stdout(io.StringIO()):
        torch.onnx.export(
            wrapper, example, str(path), dynamo=False, opset_version=opset, input_names=list(INPUTS),
            output_names=["posteriors"],
            dynamic_axes={"feats": {0: "batch", 1: "frames"}, "lengths": {0: "batch"}, "tokens": {0: "batch", 1: "pieces"},
                          "token_lengths": {0: "batch"}, "posteriors": {0: "batch"}},
        )
    graph = onnx.load(str(path))
    present = [i.name for i in graph.graph.input]
    check = dict(zip(INPUTS, (t.numpy() for t in _example(dim, vocab, (311, 64, 190), (14, 0, 3), seed=1))))

    def ref(feeds):
        full = {**check, **feeds}
        with torch.no_grad():
            return reference(*(torch.from_numpy(full[k]) for k in INPUTS)).numpy()

    diff = verify_onnx(path, ref, {k: check[k] for k in present}, {k: DYNAMIC[k] for k in present})
    embed_card(path, card(state), key=METADATA_KEY)
    return {"format": "onnx", "opset": opset, "inputs": present, "check_max_abs_diff": diff}

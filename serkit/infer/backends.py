"""Posterior back ends: ``backend(feats [B, T, D] float32, lengths [B] int64) -> [B, classes]``.

Every back end sees CMVN-normalised, zero-padded features; the recogniser does the rest.
"""
from __future__ import annotations

import json
import logging
import warnings
from pathlib import Path
from typing import Optional, Tuple

import numpy as np
import torch

from serkit.errors import SerkitError
from serkit.export.card import TORCHSCRIPT_CARD_FILE, ModelMeta, load_serkit_checkpoint, meta_from_card, model_and_meta

logger = logging.getLogger(__name__)


class TorchBackend:
    """A PyTorch module taking ``(feats, lengths)``: the checkpoint's model (frames past each
    length zeroed, as training pads) or a TorchScript export (which ends in a softmax)."""

    def __init__(self, module: torch.nn.Module, softmax: bool, threads: int = 1) -> None:
        self.module = module.eval()
        self.softmax = softmax
        self.threads = threads
        self.name = "torch"

    def __call__(self, feats: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        if self.threads:
            torch.set_num_threads(self.threads)
        with torch.no_grad():
            out = self.module(torch.from_numpy(feats), torch.from_numpy(lengths))
            if self.softmax:
                out = torch.softmax(out, dim=-1)
        return out.numpy()


class OnnxBackend:
    def __init__(self, session) -> None:
        self.session = session
        names = {i.name for i in session.get_inputs()}
        if "feats" not in names:
            raise SerkitError(
                "serkit-infer runs the feature-level graph (model.onnx, model_int8.onnx): this graph's inputs "
                f"are {sorted(names)}; model_waveform.onnx is for runtimes without serkit"
            )
        self.name = "onnx"

    def __call__(self, feats: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        return self.session.run(["posteriors"], {"feats": feats, "lengths": lengths})[0]


def checkpoint_backend(path, feats_config: Optional[str] = None, threads: int = 1) -> Tuple[ModelMeta, TorchBackend]:
    from serkit.export.modules import FeaturePosteriors

    state = load_serkit_checkpoint(path)
    model, meta = model_and_meta(state, str(path), feats_config)
    return meta, TorchBackend(FeaturePosteriors(model, convert=False), softmax=False, threads=threads)


def onnx_backend(path, threads: int = 1) -> Tuple[ModelMeta, OnnxBackend]:
    from serkit.export.onnx_export import ort_session, read_onnx_card

    path = Path(path)
    if not path.is_file():
        raise SerkitError(f"model '{path}' does not exist")
    card = read_onnx_card(path)
    where = str(path)
    if card is None:  # a graph without metadata: the card beside it
        beside = path.parent / "model_card.json"
        if not beside.is_file():
            raise SerkitError(f"'{path}' carries no serkit model card and there is no model_card.json beside it; "
                              f"export it with python -m serkit.bin.export")
        card, where = _read_json(beside), str(beside)
    meta = meta_from_card(card, where)
    return meta, OnnxBackend(ort_session(path, threads))


def torchscript_backend(path, threads: int = 1) -> Tuple[ModelMeta, TorchBackend]:
    extra = {TORCHSCRIPT_CARD_FILE: ""}
    try:
        with warnings.catch_warnings():  # TorchScript is deprecated upstream; still the portable format here
            warnings.filterwarnings("ignore", category=DeprecationWarning)
            module = torch.jit.load(str(path), _extra_files=extra)
    except Exception as err:
        raise SerkitError(f"'{path}' is not a TorchScript model ({type(err).__name__})") from None
    if not extra[TORCHSCRIPT_CARD_FILE]:
        raise SerkitError(f"'{path}' carries no serkit model card; export it with python -m serkit.bin.export")
    card = json.loads(extra[TORCHSCRIPT_CARD_FILE])
    meta = ModelMeta.from_dict(card["meta"], str(path))
    return meta, TorchBackend(module, softmax=False, threads=threads)


def _read_json(path: Path):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise SerkitError(f"{path}: not readable JSON ({err})") from None


def load_backend(path, feats_config: Optional[str] = None, threads: int = 1):
    """``(ModelMeta, backend)`` of a serkit checkpoint, a ``.onnx`` export or a ``.ts`` export."""
    suffix = Path(path).suffix.lower()
    if suffix == ".onnx":
        return onnx_backend(path, threads)
    if suffix in (".ts", ".jit", ".torchscript"):
        return torchscript_backend(path, threads)
    return checkpoint_backend(path, feats_config, threads)


def pad_batch(mats) -> Tuple[np.ndarray, np.ndarray]:
    """Zero-padded ``[B, T, D]`` float32 and ``[B]`` int64 lengths."""
    lengths = np.array([len(m) for m in mats], dtype=np.int64)
    out = np.zeros((len(mats), int(lengths.max()), mats[0].shape[1]), dtype=np.float32)
    for i, m in enumerate(mats):
        out[i, : len(m)] = m
    return out, lengths

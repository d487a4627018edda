"""TorchScript and ONNX export of a trained model, checked for dynamic shapes after export.

Exporter choice: the **TorchScript-based** ONNX exporter (``torch.onnx.export(..., dynamo=False)``
with ``dynamic_axes``), chosen explicitly. Since torch 2.9 the default is the dynamo exporter
(``torch.export`` + ``dynamic_shapes``; ``dynamic_axes`` is only translated). On torch 2.11 it
cannot export these models: ``nn.LSTM`` under ``torch.export`` specialises the time axis to the
example length *without an error* (an ONNX graph whose input reads ``['batch', 50, 8]``: the
classic frozen shape), and the masked encoder fails on unbacked symbols. The TorchScript exporter
emits ONNX ``LSTM``/``GRU`` ops with symbolic batch and time axes. It is deprecated upstream, so
every export is verified: the graph must declare symbolic axes and must reproduce PyTorch on a
batch size and a length different from the example (:func:`verify_onnx`); a graph frozen to
the example shape fails the export instead of shipping.
"""
from __future__ import annotations

import contextlib
import logging
import warnings
from typing import Any, Dict, List, Mapping, Optional

import numpy as np
import torch

from serkit.errors import SerkitError
from serkit.export.card import ONNX_METADATA_KEY, TORCHSCRIPT_CARD_FILE, ModelMeta
from serkit.export.modules import FeaturePosteriors, WaveformPosteriors
from serkit.feats.frontends import LogMel

logger = logging.getLogger(__name__)

OPSET = 17
EXAMPLE_FRAMES = (173, 121)  # batch of 2, different lengths; verification uses other shapes
CHECK_FRAMES = (311, 64, 190)  # batch of 3
CHECK_TOLERANCE = 1e-3  # export-time sanity bound on posteriors; the tests assert much tighter ones

FEATS_IO = {
    "inputs": [
        {"name": "feats", "shape": ["batch", "frames", "dim"], "dtype": "float32",
         "doc": "CMVN-normalised features (see cmvn in the card), zero-padded"},
        {"name": "lengths", "shape": ["batch"], "dtype": "int64", "doc": "valid frames per utterance"},
    ],
    "outputs": [{"name": "posteriors", "shape": ["batch", "classes"], "dtype": "float32", "doc": "softmax, labels order"}],
}
WAVE_IO = {
    "inputs": [
        {"name": "waveform", "shape": ["batch", "samples"], "dtype": "float32",
         "doc": "mono samples in [-1, 1] at the card's sample_rate, zero-padded"},
        {"name": "wave_lengths", "shape": ["batch"], "dtype": "int64", "doc": "valid samples per utterance"},
        {"name": "cmvn_mean", "shape": ["dim"], "dtype": "float32", "optional": True,
         "doc": "defaults to the global mean of the raw training features; pass the speaker's own"},
        {"name": "cmvn_std", "shape": ["dim"], "dtype": "float32", "optional": True,
         "doc": "defaults to the global std (ones without norm_vars); pass the speaker's own"},
    ],
    "outputs": FEATS_IO["outputs"],
}


@contextlib.contextmanager
def quiet_export():
    """The TorchScript exporter's deprecation and RNN batch-size notes, and the tracer's notes on
    the RNNs' input-size checks, are expected: hide them (verification after export is the guard)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        warnings.filterwarnings("ignore", category=FutureWarning)
        warnings.filterwarnings("ignore", message=".*batch_size other than 1.*")
        yield


def _example_feats(dim: int, frames=EXAMPLE_FRAMES, seed: int = 0):
    gen = torch.Generator().manual_seed(seed)
    feats = torch.randn(len(frames), max(frames), dim, generator=gen)
    return feats, torch.tensor(frames, dtype=torch.int64)


def require_onnx():
    try:
        import onnx  # noqa: F401
        import onnxruntime  # noqa: F401
    except ImportError:
        raise SerkitError("ONNX export needs the onnx and onnxruntime packages: pip install onnx onnxruntime") from None


def ort_session(path, threads: int = 1):
    """An onnxruntime CPU session with ``threads`` intra-op threads (1: single-thread latency)."""
    require_onnx()
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.log_severity_level = 3  # overridable CMVN initializers draw a harmless warning
    try:
        return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    except Exception as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise SerkitError(f"'{path}' is not a loadable ONNX model ({first})") from None


def embed_card(path, card: Mapping[str, Any], key: str = ONNX_METADATA_KEY) -> None:
    """Store a card as JSON in the ONNX file's metadata under ``key`` (replacing what was there)."""
    import json

    import onnx

    model = onnx.load(str(path))
    del model.metadata_props[:]
    onnx.helper.set_model_props(model, {key: json.dumps(card)})
    onnx.save(model, str(path))


def read_onnx_card(path, key: str = ONNX_METADATA_KEY) -> Optional[Dict[str, Any]]:
    """The card stored under ``key`` in an ONNX file's metadata; None when there is none."""
    import json

    import onnx

    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as err:
        raise SerkitError(f"'{path}' is not an ONNX model ({type(err).__name__})") from None
    for prop in model.metadata_props:
        if prop.key == key:
            return json.loads(prop.value)
    return None


def graph_io(path) -> Dict[str, List[Dict[str, Any]]]:
    """Names and shapes (symbolic names or sizes) of an ONNX graph's inputs and outputs."""
    import onnx

    model = onnx.load(str(path), load_external_data=False)
    inits = {i.name for i in model.graph.initializer}

    def describe(value):
        dims = [d.dim_param or d.dim_value for d in value.type.tensor_type.shape.dim]
        return {"name": value.name, "shape": dims, "optional": value.name in inits}

    return {"inputs": [describe(v) for v in model.graph.input], "outputs": [describe(v) for v in model.graph.output]}


def _verify_against(reference, path, feeds, dynamic):
    """:func:`verify_onnx` with a torch module as the reference, its inputs in the order of ``feeds``."""

    def ref(inputs):
        with torch.no_grad():
            return reference(*(torch.from_numpy(inputs[name]) for name in feeds)).numpy()

    return verify_onnx(path, ref, feeds, dynamic)


def verify_onnx(path, reference, feeds: Dict[str, np.ndarray], dynamic: Mapping[str, List[int]]) -> float:
    """Check that ``path`` declares symbolic ``dynamic`` axes and reproduces ``reference`` (a
    callable on the same numpy feeds) on ``feeds``; return the max abs posterior difference."""
    io = graph_io(path)
    shapes = {v["name"]: v["shape"] for v in io["inputs"]}
    for name, axes in dynamic.items():
        frozen = [a for a in axes if not isinstance(shapes[name][a], str)]
        if frozen:
            raise SerkitError(f"{path}: input '{name}' axes {frozen} are frozen to {shapes[name]}; the export is unusable")
    got = ort_session(path).run(["posteriors"], feeds)[0]
    want = reference(feeds)
    diff = float(np.abs(got - want).max())
    if not np.isfinite(diff) or diff > CHECK_TOLERANCE:
        raise SerkitError(f"{path}: the exported graph differs from PyTorch by {diff:.2e} on a new batch shape")
    return diff


def export_torchscript(model: torch.nn.Module, meta: ModelMeta, path, card: Optional[Mapping] = None) -> Dict[str, Any]:
    """``torch.jit.trace`` of :class:`FeaturePosteriors`. Trace, not script: ``torch.jit.script``
    fails on the CRNNs (their zip over the band list and a ModuleList has no static length); the
    trace keeps batch and time dynamic, which is checked here on a new batch shape."""
    import json

    wrapper = FeaturePosteriors(model).eval()
    reference = FeaturePosteriors(model, convert=False).eval()  # the packed original
    feats, lengths = _example_feats(meta.input_dim)
    with torch.no_grad(), quiet_export():
        traced = torch.jit.trace(wrapper, (feats, lengths), check_trace=False)
        check_feats, check_lengths = _example_feats(meta.input_dim, CHECK_FRAMES, seed=1)
        diff = float((traced(check_feats, check_lengths) - reference(check_feats, check_lengths)).abs().max())
    if diff > CHECK_TOLERANCE:
        raise SerkitError(f"TorchScript trace differs from the model by {diff:.2e} on a new batch shape")
    extra = {TORCHSCRIPT_CARD_FILE: json.dumps(dict(card or {"meta": meta.to_dict()}))}
    with quiet_export():
        torch.jit.save(traced, str(path), _extra_files=extra)
    return {"format": "torchscript", **FEATS_IO, "check_max_abs_diff": diff}


def export_onnx(model: torch.nn.Module, meta: ModelMeta, path, opset: int = OPSET) -> Dict[str, Any]:
    """The feature-level graph: ``feats [B, T, D] float32, lengths [B] int64 -> posteriors [B, C]``."""
    require_onnx()
    if opset < 17:
        raise SerkitError(f"opset {opset} is too old; serkit exports opset 17 or newer")
    wrapper = FeaturePosteriors(model).eval()
    reference = FeaturePosteriors(model, convert=False).eval()  # the packed original
    feats, lengths = _example_feats(meta.input_dim)
    with torch.no_grad(), quiet_export():
        torch.onnx.export(
            wrapper, (feats, lengths), str(path), dynamo=False, opset_version=opset,
            input_names=["feats", "lengths"], output_names=["posteriors"],
            dynamic_axes={"feats": {0: "batch", 1: "frames"}, "lengths": {0: "batch"}, "posteriors": {0: "batch"}},
        )
    check_feats, check_lengths = _example_feats(meta.input_dim, CHECK_FRAMES, seed=1)

    diff = _verify_against(reference, path, {"feats": check_feats.numpy(), "lengths": check_lengths.numpy()},
                           {"feats": [0, 1], "lengths": [0]})
    return {"format": "onnx", "opset": opset, **FEATS_IO, "check_max_abs_diff": diff}


def waveform_module(model: torch.nn.Module, meta: ModelMeta, for_export: bool = False) -> WaveformPosteriors:
    """The end-to-end module (log-mel front end + CMVN with the global stats + model + softmax)."""
    fconf = meta.feature_config()
    if fconf.feat_type != "logmel":
        raise SerkitError(
            f"the end-to-end (waveform) graph supports the logmel front end only; this model uses "
            f"{fconf.feat_type} features (Kaldi's front ends use torch.fft, which does not export): export "
            f"the feature-level model.onnx and compute features with serkit-infer or Kaldi"
        )
    if fconf.denoise.enabled:
        raise SerkitError("the model was trained on spectrally subtracted audio (denoise.enabled), which the "
                          "waveform graph cannot contain; use the feature-level model.onnx with serkit-infer")
    mean, std = meta.global_mean_std()
    logmel = LogMel(fconf.logmel, fconf.sample_rate)
    return WaveformPosteriors(logmel, model, torch.from_numpy(mean), torch.from_numpy(std), for_export).eval()


def export_waveform_onnx(model: torch.nn.Module, meta: ModelMeta, path, opset: int = OPSET) -> Dict[str, Any]:
    """``waveform [B, S], wave_lengths [B] (+ optional cmvn_mean, cmvn_std [D]) -> posteriors``."""
    require_onnx()
    import onnx
    from onnx import numpy_helper

    wrapper = waveform_module(model, meta, for_export=True)
    reference = waveform_module(model, meta, for_export=False)
    gen = torch.Generator().manual_seed(0)
    rate = meta.sample_rate
    sizes = (int(1.13 * rate), int(0.87 * rate))
    wave = 0.1 * torch.randn(2, max(sizes), generator=gen)
    wave_lengths = torch.tensor(sizes, dtype=torch.int64)
    with torch.no_grad(), quiet_export():
        torch.onnx.export(
            wrapper, (wave, wave_lengths, wrapper.cmvn_mean, wrapper.cmvn_std), str(path), dynamo=False,
            opset_version=opset, input_names=["waveform", "wave_lengths", "cmvn_mean", "cmvn_std"],
            output_names=["posteriors"],
            dynamic_axes={"waveform": {0: "batch", 1: "samples"}, "wave_lengths": {0: "batch"}, "posteriors": {0: "batch"}},
        )
    graph = onnx.load(str(path))  # the global stats become the inputs' defaults (overridable initializers)
    graph.graph.initializer.extend([
        numpy_helper.from_array(wrapper.cmvn_mean.numpy(), "cmvn_mean"),
        numpy_helper.from_array(wrapper.cmvn_std.numpy(), "cmvn_std"),
    ])
    onnx.save(graph, str(path))
    sizes = (int(2.31 * rate), int(0.7 * rate), int(1.6 * rate))
    check = 0.1 * torch.randn(3, max(sizes), generator=gen)
    check_lengths = torch.tensor(sizes, dtype=torch.int64)

    diff = _verify_against(reference, path, {"waveform": check.numpy(), "wave_lengths": check_lengths.numpy()},
                           {"waveform": [0, 1], "wave_lengths": [0]})
    return {"format": "onnx", "opset": opset, **WAVE_IO, "check_max_abs_diff": diff}

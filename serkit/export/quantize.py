"""INT8 compression and the measurements that say whether it pays: size, parameters, latency.

* PyTorch dynamic INT8 (``torch.ao.quantization.quantize_dynamic``): LSTM/GRU and Linear weights
  in int8, activations quantised on the fly; saved as a TorchScript trace.
* ONNX dynamic INT8 (``onnxruntime.quantization.quantize_dynamic``): MatMul/Gemm/LSTM/GRU
  weights in int8 (convolutions stay fp32, see :func:`quantize_onnx_dynamic`).
* ONNX static INT8 for the convolutions (``quantize_static``, QDQ format, calibrated on a few
  feature matrices): optional. On the development CPU (AVX2, no VNNI) it was *slower* than fp32
  for the default parallel_crnn (2.5 vs 1.9 ms per audio second): the convolutions are small and
  the quantise/dequantise pairs cost more than they save. Measure on the target CPU with
  :func:`latency_per_audio_second`, which ``serkit.bin.export`` prints for every file.
"""
from __future__ import annotations

import contextlib
import logging
import os
import statistics
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, List, Optional, Sequence, Union

import numpy as np
import torch

from serkit.errors import SerkitError

logger = logging.getLogger(__name__)


@dataclass
class QuantResult:
    path: Path
    size_before: int
    size_after: int

    @property
    def ratio(self) -> float:
        return self.size_after / self.size_before if self.size_before else float("nan")


def file_size_bytes(path) -> int:
    return os.path.getsize(path)


def count_parameters(obj) -> int:
    """Parameters of a torch module, or elements of an ONNX file's initializers."""
    if isinstance(obj, torch.nn.Module):
        return sum(p.numel() for p in obj.parameters())
    import onnx

    model = onnx.load(str(obj), load_external_data=False)
    return int(sum(np.prod(init.dims, dtype=np.int64) for init in model.graph.initializer))


def quantize_torch_dynamic(model: torch.nn.Module) -> torch.nn.Module:
    """:class:`serkit.export.modules.FeaturePosteriors` of ``model`` with int8 RNN/Linear weights."""
    from serkit.export.modules import FeaturePosteriors

    net = FeaturePosteriors(model).eval()
    with warnings.catch_warnings():  # torch.ao.quantization announces its move to torchao
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        return torch.ao.quantization.quantize_dynamic(
            net, {torch.nn.Linear, torch.nn.LSTM, torch.nn.GRU}, dtype=torch.qint8
        )


def save_torch_int8(model: torch.nn.Module, input_dim: int, path, extra_files: Optional[dict] = None) -> QuantResult:
    """Quantise, trace and save as TorchScript; sizes compare with the fp32 trace of the same model."""
    from serkit.export.modules import FeaturePosteriors

    feats = torch.randn(2, 173, input_dim)
    lengths = torch.tensor([173, 121])
    with torch.no_grad(), warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)
        traced = torch.jit.trace(quantize_torch_dynamic(model), (feats, lengths), check_trace=False)
        torch.jit.save(traced, str(path), _extra_files=extra_files or {})
        with tempfile.TemporaryDirectory() as tmp:
            fp32 = Path(tmp) / "fp32.ts"
            torch.jit.save(torch.jit.trace(FeaturePosteriors(model).eval(), (feats, lengths), check_trace=False), str(fp32))
            before = file_size_bytes(fp32)
    return QuantResult(Path(path), before, file_size_bytes(path))


@contextlib.contextmanager
def _quiet_ort_logging():
    """onnxruntime's quantiser logs every unquantised tensor at INFO on the root logger."""
    root = logging.getLogger()
    old = root.level
    root.setLevel(max(old, logging.WARNING))
    try:
        yield
    finally:
        root.setLevel(old)


def _preprocess(src: Path, tmp: str) -> Path:
    """onnxruntime's recommended pre-processing (shape inference, graph optimisation)."""
    from onnxruntime.quantization.shape_inference import quant_pre_process

    out = Path(tmp) / "pre.onnx"
    try:
        quant_pre_process(str(src), str(out), skip_symbolic_shape=False)
        return out
    except Exception as err:  # pre-processing is an optimisation; quantise the raw graph instead
        logger.info("quantisation pre-processing skipped (%s)", err)
        return src


DYNAMIC_OPS = ("MatMul", "Gemm", "LSTM", "GRU")


def quantize_onnx_dynamic(src, dst, reduce_range: bool = True, op_types: Sequence[str] = DYNAMIC_OPS) -> QuantResult:
    """Dynamic INT8 of the MatMul/Gemm/LSTM/GRU weights.

    Convolutions stay fp32 by default: onnxruntime's dynamic ConvInteger made the default-size
    parallel_crnn 3.4x *slower* on this CPU (6.3 vs 1.9 ms per audio second, one thread), while
    quantising the rest made it 2.7x smaller and slightly faster (1.6 ms); pass
    ``op_types=DYNAMIC_OPS + ("Conv",)`` to quantise them anyway.

    ``reduce_range`` (7-bit weights) is on by default: on x86 CPUs without VNNI, onnxruntime's
    u8 x s8 kernels (vpmaddubsw) saturate with full-range int8 weights; on this machine (AVX2, no
    VNNI) that moved tiny-model posteriors by up to 0.09 and flipped decisions, against 0.006
    with reduce_range.
    """
    from onnxruntime.quantization import QuantType, quantize_dynamic

    src, dst = Path(src), Path(dst)
    with tempfile.TemporaryDirectory() as tmp, _quiet_ort_logging():
        quantize_dynamic(str(_preprocess(src, tmp)), str(dst), weight_type=QuantType.QInt8, reduce_range=reduce_range,
                         op_types_to_quantize=list(op_types))
    return QuantResult(dst, file_size_bytes(src), file_size_bytes(dst))


class FeatureCalibration:
    """onnxruntime ``CalibrationDataReader`` over a few (normalised) feature matrices."""

    def __init__(self, mats: Sequence[np.ndarray]) -> None:
        if not mats:
            raise SerkitError("static INT8 needs calibration features; none were given")
        self._iter = iter([
            {"feats": np.ascontiguousarray(m[None], dtype=np.float32), "lengths": np.array([len(m)], dtype=np.int64)}
            for m in mats
        ])

    def get_next(self):
        return next(self._iter, None)


def quantize_onnx_static(
    src, dst, calibration: Sequence[np.ndarray], op_types: Iterable[str] = ("Conv",), reduce_range: bool = True,
) -> QuantResult:
    """Static INT8 (QDQ) of ``op_types`` (default: the convolutions only), calibrated on
    ``calibration`` feature matrices ``[frames, dim]`` (MinMax ranges); ``reduce_range`` as in
    :func:`quantize_onnx_dynamic`."""
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static

    src, dst = Path(src), Path(dst)
    with tempfile.TemporaryDirectory() as tmp, _quiet_ort_logging():
        quantize_static(
            str(_preprocess(src, tmp)), str(dst), FeatureCalibration(list(calibration)), quant_format=QuantFormat.QDQ,
            op_types_to_quantize=list(op_types), activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
            per_channel=True, reduce_range=reduce_range, calibrate_method=CalibrationMethod.MinMax,
        )
    return QuantResult(dst, file_size_bytes(src), file_size_bytes(dst))


def _runner(obj, threads: int, input_dim: Optional[int], frames: int, samples: int):
    """A no-argument callable running ``obj`` once on ``seconds`` of (random) input."""
    rng = np.random.default_rng(0)
    if isinstance(obj, (str, os.PathLike)):
        from serkit.export.onnx_export import ort_session

        obj = ort_session(obj, threads)
    if isinstance(obj, torch.nn.Module) or isinstance(obj, torch.jit.ScriptModule):
        if input_dim is None:
            raise SerkitError("latency of a torch module needs input_dim")
        feats = torch.from_numpy(rng.standard_normal((1, frames, input_dim)).astype(np.float32))
        lengths = torch.tensor([frames])

        def run():
            with torch.no_grad():
                obj(feats, lengths)
        return run
    names = {i.name: i for i in obj.get_inputs()}
    if "waveform" in names:
        feeds = {"waveform": (0.1 * rng.standard_normal((1, samples))).astype(np.float32),
                 "wave_lengths": np.array([samples], dtype=np.int64)}
    else:
        dim = input_dim or int(names["feats"].shape[2])
        feeds = {"feats": rng.standard_normal((1, frames, dim)).astype(np.float32),
                 "lengths": np.array([frames], dtype=np.int64)}
    return lambda: obj.run(None, feeds)


def latency_per_audio_second(
    session_or_module: Union[torch.nn.Module, "object", str, os.PathLike], seconds: float = 3.0, threads: int = 1,
    input_dim: Optional[int] = None, frame_rate: float = 100.0, sample_rate: int = 16000,
    repeats: int = 10, warmup: int = 2,
) -> float:
    """Compute seconds per second of audio (= real-time factor) on one utterance of ``seconds``:
    the median of ``repeats`` timed runs after ``warmup`` untimed ones. Torch modules run with
    ``threads`` torch threads; an ONNX path gets a session with ``threads`` intra-op threads (a
    session passed in keeps its own setting)."""
    frames = int(round(seconds * frame_rate))
    run = _runner(session_or_module, threads, input_dim, frames, int(round(seconds * sample_rate)))
    old = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        for _ in range(warmup):
            run()
        times: List[float] = []
        for _ in range(repeats):
            start = time.perf_counter()
            run()
            times.append(time.perf_counter() - start)
    finally:
        torch.set_num_threads(old)
    return statistics.median(times) / seconds

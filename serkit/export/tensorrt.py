"""TensorRT timing of an exported ONNX graph, when an NVIDIA GPU and TensorRT are present.

Uses onnxruntime's TensorRT execution provider (which builds and caches the engine), so no
TensorRT Python bindings are needed; anything missing gives a one-line reason to skip.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Dict, Optional

logger = logging.getLogger(__name__)


def unavailable() -> Optional[str]:
    """Why TensorRT cannot run here, or None when it can."""
    try:
        import onnxruntime as ort
    except ImportError:
        return "onnxruntime is not installed (pip install -e '.[deploy]')"
    if "TensorrtExecutionProvider" not in ort.get_available_providers():
        return ("onnxruntime has no TensorRT execution provider (needs an NVIDIA GPU, TensorRT and the "
                "onnxruntime-gpu package)")
    try:
        import torch

        if not torch.cuda.is_available():
            return "no NVIDIA GPU visible"
    except ImportError:
        pass
    return None


def time_tensorrt(onnx_path: os.PathLike, input_dim: int, seconds: float = 3.0, repeats: int = 20,
                  cache_dir: Optional[os.PathLike] = None) -> Dict[str, object]:
    """Build (or load the cached) engine and time it: ``{"status", "reason" | "latency_s_per_audio_s"}``."""
    reason = unavailable()
    if reason:
        logger.info("TensorRT skipped: %s", reason)
        return {"status": "skipped", "reason": reason}
    import statistics
    import time

    import numpy as np
    import onnxruntime as ort

    cache = str(cache_dir or Path(onnx_path).parent / "trt_cache")
    providers = [("TensorrtExecutionProvider", {"trt_engine_cache_enable": True, "trt_engine_cache_path": cache,
                                                "trt_fp16_enable": True}), "CUDAExecutionProvider"]
    session = ort.InferenceSession(str(onnx_path), providers=providers)
    frames = int(round(seconds * 100))
    feeds = {"feats": np.zeros((1, frames, input_dim), np.float32), "lengths": np.array([frames], np.int64)}
    for _ in range(3):  # the first run builds the engine
        session.run(None, feeds)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        session.run(None, feeds)
        times.append(time.perf_counter() - start)
    return {"status": "ok", "providers": session.get_providers(),
            "latency_s_per_audio_s": statistics.median(times) / seconds}

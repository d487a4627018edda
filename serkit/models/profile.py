"""Size and cost of a model: parameters, FLOPs per second of audio, and the machine's matmul rate."""
from __future__ import annotations

import time
from typing import Dict

import torch
from torch.utils.flop_counter import FlopCounterMode


TOKENS_PER_SECOND = 4.0  # text models: about 2.5 words per second of speech, 1.5 pieces per word


def count_parameters(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def flops_per_second_of_audio(model: torch.nn.Module, input_dim: int, frame_rate: float = 100.0, seconds: float = 3.0) -> float:
    """Forward FLOPs (multiply-add = 2) per second of audio, counted by torch's FlopCounterMode
    on ``seconds`` of input at ``frame_rate`` frames per second (convolutions, matmuls, RNNs);
    text-reading models also get a transcript of ``TOKENS_PER_SECOND`` pieces per second."""
    from serkit.models.registry import reads_text, run_model

    frames = int(round(frame_rate * seconds))
    tokens = None
    if reads_text(model):  # a transcript of TOKENS_PER_SECOND pieces per second of audio
        n = max(1, int(round(TOKENS_PER_SECOND * seconds)))
        tokens = (torch.full((1, n), 2, dtype=torch.long), torch.tensor([n]))
    model = model.eval()
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        run_model(model, torch.zeros(1, frames, input_dim), torch.tensor([frames]), *(tokens or ()))
    return counter.get_total_flops() / seconds


def matmul_flops(size: int = 1024, repeats: int = 30, threads: int = 0) -> float:
    """Measured fp32 matmul FLOP/s of this machine (``threads`` 0: torch's default)."""
    old = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    try:
        a, b = torch.randn(size, size), torch.randn(size, size)
        for _ in range(3):
            a @ b
        start = time.perf_counter()
        for _ in range(repeats):
            a @ b
        elapsed = time.perf_counter() - start
    finally:
        torch.set_num_threads(old)
    return 2.0 * size ** 3 * repeats / elapsed


def model_summary(model: torch.nn.Module, input_dim: int) -> Dict[str, float]:
    return {"parameters": count_parameters(model), "mflops_per_audio_second": flops_per_second_of_audio(model, input_dim) / 1e6}

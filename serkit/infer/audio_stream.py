"""Audio arriving in blocks: raw 16-bit PCM or WAV from a pipe, audio files read block by block
(resampled as they arrive with :class:`serkit.data.resample.ChunkResampler`)."""
from __future__ import annotations

import logging
import struct
from typing import BinaryIO, Iterator, Tuple

import numpy as np

from serkit.data.audio import check_complete
from serkit.errors import AudioError

logger = logging.getLogger(__name__)


def _read_exact(stream: BinaryIO, n: int) -> bytes:
    data = b""
    while len(data) < n:
        more = stream.read(n - len(data))
        if not more:
            break
        data += more
    return data


def _wav_header(stream: BinaryIO, what: str) -> Tuple[int, int, int, int, int]:
    """``(format_tag, channels, rate, bits, data_bytes)``; data_bytes -1 when unknown (a pipe)."""
    head = _read_exact(stream, 12)
    if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        raise AudioError(f"{what}: not a WAV stream (no RIFF/WAVE header)")
    fmt = None
    while True:
        chunk = _read_exact(stream, 8)
        if len(chunk) < 8:
            raise AudioError(f"{what}: WAV stream ends before its data chunk")
        cid, size = chunk[:4], struct.unpack("<I", chunk[4:])[0]
        if cid == b"data":
            if fmt is None:
                raise AudioError(f"{what}: WAV data chunk before its fmt chunk")
            return (*fmt, -1 if size in (0, 0xFFFFFFFF) else size)
        body = _read_exact(stream, size + (size & 1))
        if cid == b"fmt ":
            tag, channels, rate = struct.unpack("<HHI", body[:8])
            bits = struct.unpack("<H", body[14:16])[0]
            if tag == 0xFFFE and len(body) >= 26:  # WAVE_FORMAT_EXTENSIBLE: the subformat's tag
                tag = struct.unpack("<H", body[24:26])[0]
            fmt = (tag, channels, rate, bits)


_PCM_TYPES = {(1, 16): ("<i2", 32768.0), (1, 32): ("<i4", 2147483648.0), (3, 32): ("<f4", 1.0)}


def pcm_blocks(stream: BinaryIO, rate: int, channels: int = 1, block_seconds: float = 0.1,
               wav: bool = False, what: str = "stdin") -> Tuple[int, Iterator[np.ndarray]]:
    """``(rate, blocks)`` of mono float32 from raw 16-bit little-endian PCM or a WAV stream."""
    dtype, scale, remaining = "<i2", 32768.0, -1
    if wav:
        tag, channels, rate, bits, remaining = _wav_header(stream, what)
        if (tag, bits) not in _PCM_TYPES:
            raise AudioError(f"{what}: WAV format {tag} with {bits}-bit samples is not supported on a stream "
                             f"(16/32-bit PCM or 32-bit float); pass a file path instead")
        dtype, scale = _PCM_TYPES[(tag, bits)]
    frame_bytes = np.dtype(dtype).itemsize * channels
    block_bytes = max(1, int(rate * block_seconds)) * frame_bytes

    def blocks() -> Iterator[np.ndarray]:
        left, carry = remaining, b""
        while left != 0:
            want = block_bytes if left < 0 else min(block_bytes, left)
            data = stream.read(want)
            if not data:
                break
            if left > 0:
                left -= len(data)
            data = carry + data
            usable = len(data) - len(data) % frame_bytes
            data, carry = data[:usable], data[usable:]
            samples = np.frombuffer(data, dtype=dtype).astype(np.float32) / scale
            yield samples.reshape(-1, channels).mean(axis=1) if channels > 1 else samples

    return rate, blocks()


def file_blocks(path: str, block_seconds: float = 0.1) -> Tuple[int, Iterator[np.ndarray]]:
    """``(rate, blocks)`` of mono float32 from any file soundfile reads, without loading it whole."""
    import soundfile as sf

    try:
        handle = sf.SoundFile(path)
    except Exception as err:
        raise AudioError(f"'{path}': not readable audio ({err}); soundfile reads WAV, FLAC and OGG") from None
    rate = handle.samplerate

    def blocks() -> Iterator[np.ndarray]:
        frames = 0
        with handle:
            for block in handle.blocks(blocksize=max(1, int(rate * block_seconds)), dtype="float32", always_2d=True):
                frames += len(block)
                yield block.mean(axis=1) if block.shape[1] > 1 else block[:, 0]
            check_complete(handle, frames, f"'{path}'")

    return rate, blocks()

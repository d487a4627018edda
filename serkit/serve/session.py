"""One streaming connection, independent of the web framework: a JSON start message declaring
the audio, then 16-bit little-endian PCM in any chunks, one estimate per hop back.

Protocol (client -> server): ``{"sample_rate": 48000}`` first (optional ``"channels"``, default 1;
the rate is resampled to the model's), then binary messages of PCM16 samples (an even number of
bytes, interleaved when there are several channels), then ``{"end": true}`` or a close. Server
-> client: ``{"type": "ready", ...}``, one ``{"type": "estimate", "start", "end", "label",
"posteriors", "silent", "partial", "latency_ms"}`` per hop (as ``serkit-stream`` prints them), and
``{"type": "final", "estimates", "audio_seconds", ...}`` at the end; ``{"type": "error",
"error": ...}`` before the server closes on bad input.
"""
from __future__ import annotations

import json
from typing import Any, Dict, List, Optional

import numpy as np

from serkit.data.resample import ChunkResampler
from serkit.errors import SerkitError
from serkit.infer.recognizer import Recognizer
from serkit.infer.streaming import StreamingRecognizer

MIN_RATE, MAX_RATE = 8000, 192000


class ProtocolError(SerkitError):
    """Bad input from a client: reported to it, then the connection is closed."""


class StreamSession:
    def __init__(self, rec: Recognizer, window: float, hop: float, cmvn: str = "global") -> None:
        self.rec, self.window, self.hop, self.cmvn = rec, window, hop, cmvn
        self.stream: Optional[StreamingRecognizer] = None
        self.resampler: Optional[ChunkResampler] = None
        self.channels = 1
        self.estimates = 0

    @property
    def started(self) -> bool:
        return self.stream is not None

    def start(self, text: str) -> Dict[str, Any]:
        """Read the start message; the ``ready`` reply."""
        try:
            msg = json.loads(text)
        except ValueError as err:
            raise ProtocolError(f"the first message must be JSON like {{\"sample_rate\": 16000}} ({err})") from None
        if not isinstance(msg, dict) or "sample_rate" not in msg:
            raise ProtocolError("the first message must declare the audio: {\"sample_rate\": <Hz>} (16-bit PCM follows)")
        rate, channels = msg["sample_rate"], msg.get("channels", 1)
        if not isinstance(rate, int) or isinstance(rate, bool) or not MIN_RATE <= rate <= MAX_RATE:
            raise ProtocolError(f"sample_rate must be a whole number of Hz in {MIN_RATE}-{MAX_RATE}, got {rate!r}")
        if not isinstance(channels, int) or isinstance(channels, bool) or not 1 <= channels <= 8:
            raise ProtocolError(f"channels must be 1-8, got {channels!r}")
        self.channels = channels
        self.resampler = ChunkResampler(rate, self.rec.sample_rate)
        self.stream = StreamingRecognizer(self.rec, self.window, self.hop, self.cmvn)
        return {"type": "ready", "sample_rate": rate, "model_sample_rate": self.rec.sample_rate,
                "window": self.window, "hop": self.hop, "labels": self.rec.labels}

    def feed(self, data: bytes) -> List[Dict[str, Any]]:
        """PCM16 bytes in; the estimates they complete."""
        if not self.started:
            raise ProtocolError("audio before the start message: send {\"sample_rate\": <Hz>} first")
        frame = 2 * self.channels
        if len(data) % frame:
            raise ProtocolError(f"a binary message of {len(data)} bytes is not whole 16-bit samples of "
                                f"{self.channels} channel(s) ({frame} bytes each)")
        samples = np.frombuffer(data, dtype="<i2").astype(np.float32) / 32768.0
        if self.channels > 1:
            samples = samples.reshape(-1, self.channels).mean(axis=1)
        return self._events(self.stream.push(self.resampler.push(samples)))

    def finish(self) -> List[Dict[str, Any]]:
        """End of the stream: the last estimates and the ``final`` summary."""
        if not self.started:
            raise ProtocolError("the stream ended before it started")
        events = self._events(self.stream.push(self.resampler.flush()))
        try:
            events += self._events(self.stream.flush())
        except SerkitError as err:  # shorter than the model's shortest input
            events.append({"type": "error", "error": str(err)})
        summary = self.stream.stats.summary()
        events.append({"type": "final", "estimates": self.estimates, **summary})
        return events

    def _events(self, events) -> List[Dict[str, Any]]:
        self.estimates += len(events)
        return [{"type": "estimate", **e.as_dict()} for e in events]

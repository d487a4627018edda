"""serkit-serve on loopback with a real WebSocket client: streaming gives serkit-stream's estimates,
uploads give per-segment estimates, and every kind of bad input gets its error and a clean close
while the server carries on."""
from __future__ import annotations

import asyncio
import json

import numpy as np
import pytest
import soundfile as sf
import torch

from conftest import LABELS, RunningServer, make_checkpoint, voiced_signal

aiohttp = pytest.importorskip("aiohttp", reason="serkit-serve needs aiohttp (tools/install.sh --extras serve)")
pytest.importorskip("onnxruntime")

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    from serkit.bin import export

    root = tmp_path_factory.mktemp("serve_model")
    torch.set_num_threads(1)
    torch.save(make_checkpoint(), root / "final.pt")
    assert export.main(["--model", str(root / "final.pt"), "--out-dir", str(root / "export"),
                        "--no-torchscript", "--latency-repeats", "0"]) == 0
    return root / "export" / "model.onnx"


@pytest.fixture(scope="module")
def server(model):
    running = RunningServer(model, window=1.0, hop=0.5, max_streams=2, max_message_bytes=64_000, idle_seconds=2.0)
    yield running
    running.stop()


async def _stream(url: str, first, chunks, end=True, timeout=30):
    """Send the start message and the chunks; every JSON message back, and the close code."""
    out = []
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(url + "/stream") as ws:
            if first is not None:
                await ws.send_str(first if isinstance(first, str) else json.dumps(first))
            for chunk in chunks:
                await ws.send_bytes(chunk)
            if end:
                await ws.send_str(json.dumps({"end": True}))
            while True:
                msg = await ws.receive(timeout=timeout)
                if msg.type != aiohttp.WSMsgType.TEXT:
                    if msg.extra:  # the close frame's reason
                        out.append({"type": "close", "error": str(msg.extra)})
                    break
                out.append(json.loads(msg.data))
            return out, ws.close_code


def stream(url, first, chunks, **kw):
    return asyncio.run(_stream(url, first, chunks, **kw))


def pcm16(samples: np.ndarray) -> bytes:
    return (np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes()


def test_streaming_gives_what_serkit_stream_gives(server, model, tmp_path):
    from serkit.data.resample import ChunkResampler
    from serkit.infer.recognizer import Recognizer
    from serkit.infer.streaming import StreamingRecognizer

    rate = 44100  # resampled on the server as on the command line
    audio = np.frombuffer(pcm16(voiced_signal(3.2, rate, seed=7)), dtype="<i2").astype(np.float32) / 32768
    data = pcm16(audio)
    chunks = [data[i:i + 8820] for i in range(0, len(data), 8820)]  # 100 ms of PCM16
    events, code = stream(server.url, {"sample_rate": rate}, chunks)
    assert events[0]["type"] == "ready" and events[0]["labels"] == LABELS
    estimates = [e for e in events if e["type"] == "estimate"]
    assert events[-1]["type"] == "final" and events[-1]["estimates"] == len(estimates) == 5  # 1 + (3.2 - 1) // 0.5
    ref_stream, resampler = StreamingRecognizer(Recognizer.load(model), 1.0, 0.5), ChunkResampler(rate, 16000)
    reference = []  # what serkit-stream computes, block by block as the audio arrives
    for k in range(0, len(audio), 4410):
        reference += ref_stream.push(resampler.push(audio[k:k + 4410]))
    reference += ref_stream.push(resampler.flush())
    assert len(reference) == len(estimates)
    for got, want in zip(estimates, reference):
        assert (got["start"], got["end"], got["label"]) == (round(want.start, 3), round(want.end, 3), want.label)
        # measured: at most 1e-5 apart (float32 model; the model runs in the server's worker threads)
        assert max(abs(got["posteriors"][k] - want.posteriors[k]) for k in LABELS) < 5e-5


def test_an_uploaded_file_gets_estimates_per_segment(server, tmp_path):
    sf.write(tmp_path / "call.wav", voiced_signal(2.4, 16000, seed=3), 16000, subtype="PCM_16")

    async def go():
        async with aiohttp.ClientSession() as session:
            async with session.post(server.url + "/recognize", data=(tmp_path / "call.wav").read_bytes()) as r:
                good = (r.status, await r.json())
            async with session.post(server.url + "/recognize", data=b"this is not audio " * 50) as r:
                bad = (r.status, await r.json())
            async with session.get(server.url + "/health") as r:
                health = await r.json()
            async with session.get(server.url + "/static/../app.py") as r:
                escape = r.status
            async with session.get(server.url + "/") as r:
                page = await r.text()
        return good, bad, health, escape, page

    (status, good), (bad_status, bad), health, escape, page = asyncio.run(go())
    assert status == 200 and [(e["start"], e["end"]) for e in good["estimates"]] == [(0.0, 1.0), (0.5, 1.5), (1.0, 2.0),
                                                                                     (1.5, 2.4)]
    assert bad_status == 400 and "not readable audio" in bad["error"] and "/tmp" not in bad["error"]
    assert health["status"] == "ok" and health["labels"] == LABELS and health["streams"]["max"] == 2
    assert escape in (403, 404)  # static files only from the page's own folder
    assert "<canvas id=\"timeline\"" in page


@pytest.mark.parametrize("first, chunks, error", [
    ("{not json", [], "the first message must be JSON"),
    ({"rate": 16000}, [], "must declare the audio"),
    ({"sample_rate": 0}, [], "sample_rate must be a whole number of Hz"),
    ({"sample_rate": "16k"}, [], "sample_rate must be a whole number of Hz"),
    ({"sample_rate": 16000}, [b"\x00\x01\x02"], "is not whole 16-bit samples"),
    (None, [b"\x00\x00"], "audio before the start message"),
    ({"sample_rate": 16000}, [b"\x00" * 70_000], "message too big"),
])
def test_bad_input_gets_an_error_and_a_clean_close(server, first, chunks, error):
    events, code = stream(server.url, first, chunks, end=False)
    errors = [e for e in events if e["type"] in ("error", "close")]
    assert errors and error in errors[0]["error"], events
    assert code in (1008, 1009)
    events, _ = stream(server.url, {"sample_rate": 16000}, [pcm16(voiced_signal(1.2))])  # the server carries on
    assert events[-1]["type"] == "final"


def test_idle_streams_are_closed_and_streams_are_bounded(server):
    async def go():
        async with aiohttp.ClientSession() as session:
            a = await session.ws_connect(server.url + "/stream")
            b = await session.ws_connect(server.url + "/stream")
            try:
                await session.ws_connect(server.url + "/stream")
                third = "connected"
            except aiohttp.WSServerHandshakeError as err:
                third = err.status
            idle = await a.receive(timeout=10)  # nothing sent for longer than idle_seconds (2 s)
            await a.close()
            await b.close()
            return third, json.loads(idle.data)

    third, idle = asyncio.run(go())
    assert third == 503
    assert idle["type"] == "error" and "no audio for 2 s" in idle["error"]

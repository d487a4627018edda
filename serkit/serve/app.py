"""The aiohttp application behind ``serkit-serve``.

Routes: ``GET /`` the page (static files only from this package's ``static`` folder), ``GET
/health`` the model card's essentials, ``POST /recognize`` an uploaded audio file (the request
body, or the first file of a multipart form) -> per-segment estimates as JSON, ``GET /stream`` a
WebSocket speaking the protocol of :mod:`serkit.serve.session`.

Limits, all options of :class:`ServerConfig`: the size of an upload and of a WebSocket message,
an idle timeout per connection, a bound on open streams (a further one is refused with 503), and
per-stream memory bounded by the window (the streaming recogniser keeps a rolling buffer). The
model runs in a thread pool, so one busy stream does not stall the others' I/O.
"""
from __future__ import annotations

import asyncio
import json
import logging
import os
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from aiohttp import WSMsgType, web

from serkit.errors import AudioError, SerkitError
from serkit.infer.offline import OfflineRecognizer
from serkit.infer.recognizer import Recognizer
from serkit.serve.session import ProtocolError, StreamSession

logger = logging.getLogger(__name__)
STATIC = Path(__file__).resolve().parent / "static"


@dataclass
class ServerConfig:
    window: float = 2.0  # seconds of audio per estimate
    hop: float = 0.5  # seconds between estimates
    cmvn: str = "global"
    max_streams: int = 8  # open WebSocket streams at once
    max_message_bytes: int = 1 << 20  # one WebSocket message (1 MiB: 30 s of 16 kHz PCM16)
    max_upload_bytes: int = 50 << 20  # one uploaded file
    idle_seconds: float = 30.0  # a stream that sends nothing for this long is closed
    threads: int = 2  # model threads shared by all requests


class Server:
    def __init__(self, rec: Recognizer, config: ServerConfig, model_path: str = "") -> None:
        self.rec, self.config, self.model_path = rec, config, model_path
        self.pool = ThreadPoolExecutor(max_workers=config.threads, thread_name_prefix="serkit-model")
        self.open_streams = 0

    # ---- HTTP ----------------------------------------------------------------------------------
    async def health(self, request: web.Request) -> web.Response:
        meta = self.rec.meta
        return web.json_response({
            "status": "ok", "model": self.model_path, "labels": self.rec.labels, "sample_rate": self.rec.sample_rate,
            "model_name": meta.model_name, "features": meta.feat_type, "training": meta.training,
            "streams": {"open": self.open_streams, "max": self.config.max_streams},
            "window": self.config.window, "hop": self.config.hop,
        })

    async def recognize(self, request: web.Request) -> web.Response:
        """An uploaded file -> one estimate per segment of ``window`` seconds every ``hop``."""
        data = await self._upload(request)
        if not data:
            return _error(400, "empty upload: send the audio file as the request body or a multipart form field")
        with tempfile.NamedTemporaryFile(suffix=".audio", delete=False) as tmp:
            tmp.write(data)
        try:
            engine = OfflineRecognizer(self.rec, segment=self.config.window, hop=self.config.hop)
            outcome = await asyncio.get_running_loop().run_in_executor(
                self.pool, engine.run, {"upload": tmp.name})
        except AudioError as err:
            return _error(400, str(err).replace(tmp.name, "the upload"))
        finally:
            os.unlink(tmp.name)
        estimates = [pred.as_dict() for _, pred in outcome.results.get("upload", [])]
        return web.json_response({"labels": self.rec.labels, "estimates": estimates,
                                  "window": self.config.window, "hop": self.config.hop})

    async def _upload(self, request: web.Request) -> bytes:
        if request.content_type.startswith("multipart/"):
            reader = await request.multipart()
            async for part in reader:
                if part.filename:
                    return bytes(await part.read())
            return b""
        return await request.read()

    # ---- WebSocket -----------------------------------------------------------------------------
    async def stream(self, request: web.Request) -> web.StreamResponse:
        if self.open_streams >= self.config.max_streams:
            return _error(503, f"the server has {self.config.max_streams} streams open; try again later")
        # aiohttp's own cap (a bare 1009 close) only for messages far over the limit: up to 4x it,
        # the client is told in words what was wrong
        ws = web.WebSocketResponse(max_msg_size=4 * self.config.max_message_bytes, heartbeat=None)
        await ws.prepare(request)
        self.open_streams += 1
        session = StreamSession(self.rec, self.config.window, self.config.hop, self.config.cmvn)
        loop = asyncio.get_running_loop()
        try:
            while True:
                try:
                    msg = await ws.receive(timeout=self.config.idle_seconds)
                except asyncio.TimeoutError:
                    await _close_with(ws, f"no audio for {self.config.idle_seconds:g} s; closing the stream")
                    break
                if msg.type == WSMsgType.TEXT:
                    reply = await self._text(session, msg.data, loop)
                elif msg.type == WSMsgType.BINARY:
                    if len(msg.data) > self.config.max_message_bytes:
                        await _close_with(ws, f"message too big: {len(msg.data)} bytes, the limit is "
                                              f"{self.config.max_message_bytes}; send the audio in smaller chunks",
                                          code=1009)
                        break
                    reply = await loop.run_in_executor(self.pool, session.feed, msg.data)
                elif msg.type == WSMsgType.ERROR and isinstance(ws.exception(), Exception):
                    await _close_with(ws, f"bad message: {ws.exception()}")
                    break
                else:  # close
                    if session.started:
                        await _send_all(ws, await loop.run_in_executor(self.pool, session.finish))
                    break
                await _send_all(ws, reply)
                if reply and reply[-1].get("type") == "final":
                    await ws.close()
                    break
        except ProtocolError as err:
            await _close_with(ws, str(err))
        except SerkitError as err:
            await _close_with(ws, str(err))
        finally:
            self.open_streams -= 1
        return ws

    async def _text(self, session: StreamSession, text: str, loop) -> list:
        if not session.started:
            return [session.start(text)]
        try:
            msg = json.loads(text)
        except ValueError:
            raise ProtocolError("after the start message, text messages must be JSON ({\"end\": true})") from None
        if isinstance(msg, dict) and msg.get("end"):
            return await loop.run_in_executor(self.pool, session.finish)
        raise ProtocolError(f"unknown message {text[:80]!r}: send PCM16 as binary messages and {{\"end\": true}}")

    # ---- the app -------------------------------------------------------------------------------
    def app(self) -> web.Application:
        app = web.Application(client_max_size=self.config.max_upload_bytes)
        app.router.add_get("/", lambda request: web.FileResponse(STATIC / "index.html"))
        app.router.add_get("/health", self.health)
        app.router.add_post("/recognize", self.recognize)
        app.router.add_get("/stream", self.stream)
        app.router.add_static("/static", STATIC, follow_symlinks=False, show_index=False)
        app.on_shutdown.append(self._shutdown)
        return app

    async def _shutdown(self, app: web.Application) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


async def _send_all(ws: web.WebSocketResponse, events: Optional[list]) -> None:
    for event in events or ():
        await ws.send_json(event)


async def _close_with(ws: web.WebSocketResponse, message: str, code: int = 1008) -> None:
    """Tell the client what was wrong, then close cleanly (the server carries on)."""
    if not ws.closed:
        try:
            await ws.send_json({"type": "error", "error": message})
            await ws.close(code=code, message=message[:120].encode("utf-8"))
        except ConnectionError:
            pass
    logger.info("stream closed: %s", message)


"""A streaming emotion server with a browser page (console: serkit-serve; needs serkit[serve]).

    serkit-serve --model exp/x/export/model_int8.onnx [--host 127.0.0.1] [--port 8000]

Open http://127.0.0.1:8000/ : record from the microphone or drop a file, and watch the emotion
posteriors over time. Endpoints (serkit.serve.app): GET /health, POST /recognize (an audio file ->
per-segment estimates), GET /stream (WebSocket: {"sample_rate": <Hz>} then 16-bit PCM; one
estimate per hop, as serkit-stream gives them). Binds to localhost unless --host says otherwise.
"""
from __future__ import annotations

import logging
from typing import List

from serkit.utils import cli

logger = logging.getLogger("serkit.serve")


def main(argv: List[str]) -> int:
    p = cli.parser(__doc__, prog="serkit-serve")
    p.add_argument("--model", required=True, help="checkpoint (final.pt), model.onnx / model_int8.onnx, or model.ts")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default: localhost only)")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--window", type=float, default=2.0, help="seconds of audio per estimate")
    p.add_argument("--hop", type=float, default=0.5, help="seconds between estimates")
    p.add_argument("--max-streams", type=int, default=8, help="open WebSocket streams at once")
    p.add_argument("--max-upload-mb", type=float, default=50.0)
    p.add_argument("--idle-seconds", type=float, default=30.0, help="close a stream silent for this long")
    p.add_argument("--threads", type=int, default=2, help="model threads shared by all requests")
    p.add_argument("--feats-config", help="conf/feats.yaml, for checkpoints that do not record theirs")
    args = p.parse_args(argv)
    cli.setup_logging(args.verbose)
    try:
        from aiohttp import web
    except ImportError:
        from serkit.errors import SerkitError

        raise SerkitError("serkit-serve needs aiohttp: tools/install.sh --extras serve (or pip install serkit[serve])")
    from serkit.infer.recognizer import Recognizer
    from serkit.serve.app import Server, ServerConfig

    rec = Recognizer.load(args.model, args.feats_config, num_threads=1)
    config = ServerConfig(window=args.window, hop=args.hop, max_streams=args.max_streams,
                          max_upload_bytes=int(args.max_upload_mb * (1 << 20)), idle_seconds=args.idle_seconds,
                          threads=args.threads)
    server = Server(rec, config, args.model)
    print(f"serkit-serve: {args.model} ({', '.join(rec.labels)}) on http://{args.host}:{args.port}/", flush=True)
    web.run_app(server.app(), host=args.host, port=args.port, print=None)
    return 0


def entry() -> None:
    """Console script ``serkit-serve``."""
    cli.run(main, prog="serkit-serve")


if __name__ == "__main__":
    entry()

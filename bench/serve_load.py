#!/usr/bin/env python3
"""How many real-time streams serkit-serve sustains before the latency per hop exceeds a bound.

    tools/venv/bin/python bench/serve_load.py --model exp/.../export/model_int8.onnx \\
        [--wav some.wav] [--streams 1 2 4 8 16 24 32] [--seconds 20] [--update bench/RESULTS.md]

Starts ``serkit-serve`` (its own process, ``--threads`` model threads) and, for each number of
streams N, opens N WebSockets that each send 100 ms of 16 kHz PCM16 every 100 ms (real time) for
``--seconds``. Latency of an estimate: from sending the chunk that completes its window to
receiving the estimate, on the client's clock. The clients run on the same machine and share its
cores with the server. Memory: the server's resident set with the N streams open, minus its
resident set before, over N.
"""
import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SECTION = "serve-load"
CHUNK = 0.1  # seconds of audio per message


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def one_stream(url: str, pcm: bytes, seconds: float, latencies: list, hop: float) -> None:
    import aiohttp

    step = int(16000 * CHUNK) * 2
    sent_at = {}
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(url) as ws:
            await ws.send_str(json.dumps({"sample_rate": 16000}))
            await ws.receive()  # ready

            async def reader():
                while True:
                    msg = await ws.receive()
                    if msg.type != aiohttp.WSMsgType.TEXT:
                        return
                    event = json.loads(msg.data)
                    if event.get("type") == "estimate":
                        chunk = int(round(event["end"] / CHUNK)) - 1
                        if chunk in sent_at:
                            latencies.append((time.perf_counter() - sent_at[chunk]) * 1000)
                    elif event.get("type") == "final":
                        return

            task = asyncio.create_task(reader())
            start = time.perf_counter()
            for k in range(int(seconds / CHUNK)):
                await asyncio.sleep(max(0.0, start + k * CHUNK - time.perf_counter()))
                offset = (k * step) % (len(pcm) - step)
                sent_at[k] = time.perf_counter()
                await ws.send_bytes(pcm[offset:offset + step])
            await ws.send_str(json.dumps({"end": True}))
            await asyncio.wait_for(task, 60)


async def run_level(url: str, pcm: bytes, n: int, seconds: float, hop: float, pid: int):
    latencies: list = []
    before = rss_mb(pid)
    tasks = [asyncio.create_task(one_stream(url, pcm, seconds, latencies, hop)) for _ in range(n)]
    await asyncio.sleep(min(seconds / 2, 5))
    during = rss_mb(pid)
    await asyncio.gather(*tasks)
    lat = sorted(latencies)
    p95 = lat[min(len(lat) - 1, int(0.95 * len(lat)))] if lat else float("nan")
    return {"streams": n, "estimates": len(lat), "median_ms": statistics.median(lat) if lat else float("nan"),
            "p95_ms": p95, "max_ms": lat[-1] if lat else float("nan"), "mb_per_stream": (during - before) / n}


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True)
    p.add_argument("--wav", help="audio to stream (16 kHz mono; default: a synthetic voice)")
    p.add_argument("--streams", type=int, nargs="+", default=[1, 2, 4, 8, 16, 24, 32])
    p.add_argument("--seconds", type=float, default=20.0)
    p.add_argument("--bound-ms", type=float, default=100.0)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--port", type=int, default=8790)
    p.add_argument("--update", help="put the table into this Markdown file's 'serve-load' section")
    args = p.parse_args()
    if args.wav:
        import soundfile as sf

        audio, rate = sf.read(args.wav, dtype="float32")
        assert rate == 16000, "give a 16 kHz file"
    else:
        sys.path.insert(0, str(REPO / "tests"))
        from conftest import voiced_signal

        audio = voiced_signal(10.0, 16000, seed=3)
    pcm = (np.clip(audio, -1, 1) * 32767).astype("<i2").tobytes()
    server = subprocess.Popen([sys.executable, "-m", "serkit.bin.serve", "--model", args.model, "--port", str(args.port),
                               "--threads", str(args.threads), "--max-streams", str(max(args.streams) + 1)],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                              env=dict(os.environ, OMP_NUM_THREADS="1"))
    try:
        server.stdout.readline()
        time.sleep(2)
        url = f"http://127.0.0.1:{args.port}/stream"
        asyncio.run(run_level(url, pcm, 1, 3.0, 0.5, server.pid))  # warm-up
        rows = []
        for n in args.streams:
            row = asyncio.run(run_level(url, pcm, n, args.seconds, 0.5, server.pid))
            rows.append(row)
            print(row, file=sys.stderr, flush=True)
            if row["p95_ms"] > args.bound_ms:
                break
    finally:
        server.terminate()
        server.wait(30)
    ok = [r["streams"] for r in rows if r["p95_ms"] <= args.bound_ms]
    cmd = "tools/venv/bin/python bench/serve_load.py " + " ".join(sys.argv[1:])
    lines = ["## serkit-serve under load (issue 17)\n",
             f"Command ({time.strftime('%Y-%m-%d')}, {os.cpu_count()} CPU cores shared by the server and the clients):\n",
             f"```bash\n{cmd}\n```\n",
             f"Each stream sends 100 ms of 16 kHz audio every 100 ms (real time) for {args.seconds:g} s; window 2 s, "
             f"hop 0.5 s; the server runs the model on {args.threads} threads. Latency: from sending the chunk that "
             f"completes a window to receiving its estimate. Memory: the server's resident set with the streams open, "
             f"minus before, per stream.\n",
             "| streams | estimates | latency median (ms) | p95 (ms) | max (ms) | MB per stream |",
             "|---:|---:|---:|---:|---:|---:|"]
    lines += [f"| {r['streams']} | {r['estimates']} | {r['median_ms']:.1f} | {r['p95_ms']:.1f} | {r['max_ms']:.1f} | "
              f"{r['mb_per_stream']:.1f} |" for r in rows]
    lines += ["", f"Real-time streams sustained with p95 latency per hop under {args.bound_ms:g} ms: "
                  f"**{max(ok) if ok else 0}**."]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.update:
        sys.path.insert(0, str(REPO))
        from serkit.utils.md_sections import update_file

        update_file(args.update, SECTION, text)


if __name__ == "__main__":
    main()

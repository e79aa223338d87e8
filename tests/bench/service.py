"""Service latency and throughput: `POST /v1/score` against `GET /healthz` of the same server.

Starts `moderation serve` on a free loopback port (with `models/current`, or a model trained with
`moderation train --no-cv` into a temporary directory when there is none), warms it up, then for
each concurrency (1 and 16 clients by default) runs a bounded load of real comment texts (the
shipped label texts, cycled) against `/v1/score` and, as the floor, against `/healthz` with the
same concurrency and duration. Keep-alive connections from an httpx async client; the client runs
in this process on the same machine, so both rows pay its cost. Prints a table and the targets:

    score p50 <= floor p50 + 1 ms      score throughput >= 50% of the floor's

Prints figures; asserts nothing. All traffic goes to 127.0.0.1; the server is stopped at the end.

    .venv/bin/python tests/bench/service.py                 # 20 s per row
    .venv/bin/python tests/bench/service.py --seconds 3 --clients 1 16
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np

ROOT = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"
MAX_REQUESTS = 2_000_000  # per row: a bound on the loop besides the time
STARTUP_SECONDS = 180


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="duration of each row (default: 20)")
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 16], help="concurrencies (default: 1 16)")
    parser.add_argument("--model", default=None, help="model directory (default: models/current, else train one)")
    parser.add_argument("--warmup", type=int, default=200, help="requests per endpoint before measuring")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-service-") as tmp:
        model_dir = args.model or find_or_train_model(Path(tmp))
        texts = label_texts()
        port = free_port()
        server = start_server(model_dir, port, Path(tmp) / "server.log")
        try:
            rows = asyncio.run(measure(f"http://{HOST}:{port}", texts, args))
        finally:
            stop(server)
    report(rows, args.seconds)


def find_or_train_model(tmp: Path) -> str:
    """`models/current` if it is there, else a model trained now into `tmp` (no cross-validation)."""
    current = ROOT / "models" / "current"
    if (current / "card.json").is_file():
        return str(current)
    print(f"no model at {current}: training one with `moderation train --no-cv` into {tmp} …", flush=True)
    started = time.perf_counter()
    subprocess.run([str(Path(sys.executable).with_name("moderation")), "train", "--no-cv", "--labels",
                    str(ROOT / "labels"), "--out", str(tmp / "models")],
                   cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    print(f"trained in {time.perf_counter() - started:.0f} s", flush=True)
    return str(tmp / "models" / "current")


def label_texts(limit: int = 20_000) -> list[str]:
    """Real comments: the text column of the shipped label files, shuffled, at most `limit`."""
    import pyarrow.parquet as pq

    texts: list[str] = []
    for path in sorted((ROOT / "labels").rglob("*.csv")):
        with open(path, newline="", encoding="utf-8") as fh:
            texts.extend(row.get("text") or "" for row in csv.DictReader(fh))
    for path in sorted((ROOT / "labels").rglob("*.parquet")):
        texts.extend(pq.read_table(path, columns=["text"]).column("text").to_pylist())
    texts = [t for t in dict.fromkeys(texts) if t and t.strip() and len(t) <= 5000]
    random.Random(0).shuffle(texts)
    return texts[:limit]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def start_server(model_dir: str, port: int, log: Path) -> subprocess.Popen:
    """`moderation serve` on HOST:port, returned once /healthz answers 200."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MODERATION_")}  # no API keys
    command = [str(Path(sys.executable).with_name("moderation")), "serve", "--host", HOST, "--port", str(port),
               "--model", model_dir]
    server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=open(log, "wb"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the server exited with {server.returncode}:\n{log.read_text()[-2000:]}")
        try:
            if httpx.get(f"http://{HOST}:{port}/healthz", timeout=1).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    stop(server)
    raise SystemExit(f"the server did not answer within {STARTUP_SECONDS} s:\n{log.read_text()[-2000:]}")


def stop(server: subprocess.Popen) -> None:
    server.terminate()
    try:
        server.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


async def measure(base: str, texts: list[str], args) -> list[dict]:
    """One row per (endpoint, clients): requests, errors, latencies."""
    rows = []
    limits = httpx.Limits(max_connections=max(args.clients), max_keepalive_connections=max(args.clients))
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as client:
        for endpoint in ("score", "healthz"):  # warm-up: imports, caches, connections
            await load(client, endpoint, texts, clients=min(4, max(args.clients)), seconds=60, count=args.warmup)
        for clients in args.clients:
            for endpoint in ("healthz", "score"):
                rows.append(await load(client, endpoint, texts, clients, args.seconds, MAX_REQUESTS))
    return rows


async def load(client: httpx.AsyncClient, endpoint: str, texts: list[str], clients: int, seconds: float,
               count: int) -> dict:
    """`clients` concurrent loops of requests for `seconds` (or `count` requests in all)."""
    latencies: list[float] = []
    errors = 0
    issued = 0
    started = time.perf_counter()
    deadline = started + seconds

    async def one_client(offset: int) -> None:
        nonlocal errors, issued
        i = offset
        while time.perf_counter() < deadline and issued < count:
            issued += 1
            t0 = time.perf_counter()
            if endpoint == "score":
                response = await client.post("/v1/score", json={"text": texts[i % len(texts)], "id": str(i)})
            else:
                response = await client.get("/healthz")
            latencies.append(time.perf_counter() - t0)
            errors += response.status_code != 200
            i += clients

    await asyncio.gather(*(one_client(k) for k in range(clients)))
    elapsed = time.perf_counter() - started
    ms = np.array(latencies) * 1000
    return {"endpoint": endpoint, "clients": clients, "requests": len(ms), "errors": errors, "seconds": elapsed,
            "rps": len(ms) / elapsed, "p50": np.percentile(ms, 50), "p90": np.percentile(ms, 90),
            "p99": np.percentile(ms, 99)}


def report(rows: list[dict], seconds: float) -> None:
    print(f"\nPOST /v1/score vs GET /healthz (floor), {seconds:g} s per row, 127.0.0.1, keep-alive, httpx async")
    print(f"{'endpoint':<16}{'clients':>8}{'requests':>10}{'errors':>8}{'req/s':>10}{'p50 ms':>9}{'p90 ms':>9}"
          f"{'p99 ms':>9}")
    for r in rows:
        name = "POST /v1/score" if r["endpoint"] == "score" else "GET /healthz"
        print(f"{name:<16}{r['clients']:>8}{r['requests']:>10}{r['errors']:>8}{r['rps']:>10.0f}{r['p50']:>9.2f}"
              f"{r['p90']:>9.2f}{r['p99']:>9.2f}")
    print("\ntargets: score p50 <= floor p50 + 1 ms; score throughput >= 50% of the floor's")
    for clients in sorted({r["clients"] for r in rows}):
        floor = next(r for r in rows if r["clients"] == clients and r["endpoint"] == "healthz")
        score = next(r for r in rows if r["clients"] == clients and r["endpoint"] == "score")
        extra = score["p50"] - floor["p50"]
        share = score["rps"] / floor["rps"] if floor["rps"] else float("nan")
        print(f"  {clients:>2} client(s): p50 {score['p50']:.2f} ms = floor + {extra:.2f} ms "
              f"({'met' if extra <= 1 else 'missed'}); throughput {share:.0%} of the floor's "
              f"({'met' if share >= 0.5 else 'missed'})")


if __name__ == "__main__":
    main()

"""Load test: start ``llara serve`` on loopback, send /predict at a fixed rate, report latency.

Open loop: request i is due at ``start + i / rate`` whatever earlier requests are doing (so a
slow server cannot slow the load down and hide its queueing); the count is bounded
(``rate * duration``). Latency is measured from the moment a request was due, so queueing in
the client counts too. Bodies mix catalog tracks and tracks unknown to the catalog.

    python scripts/loadtest.py --bundle PATH [--rate 50] [--duration 60] [--k 10]
    python scripts/loadtest.py                      # the store's production (or newest) bundle

Prints JSON; exits non-zero when any request failed.
"""
from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import socket
import subprocess
import sys
import threading
import time
from http.client import HTTPConnection
from pathlib import Path

import numpy as np

HOST = "127.0.0.1"  # loopback only, by design


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def local_bundle(bundle: Path | None) -> Path:
    if bundle is not None:
        return bundle
    from llara.bundle import fetch, resolve_ref
    from llara.config import get_settings
    from llara.store import open_store

    settings = get_settings()
    store = open_store(settings.store_url)
    return fetch(store, resolve_ref(store, settings.model_alias, fall_back_to_newest=True),
                 settings.bundle_cache)


def bodies(bundle: Path, count: int, k: int, seed: int = 0) -> list[bytes]:
    catalog = json.loads(gzip.decompress((bundle / "catalog.json.gz").read_bytes()))
    uris, names, artists = catalog["track_uri"], catalog["track_name"], catalog["artist_name"]
    rng = random.Random(seed)
    out = []
    for i in range(count):
        a, b = rng.randrange(len(uris)), rng.randrange(len(uris))
        out.append(json.dumps({"playlist_name": f"load {i % 23}", "k": k, "tracks": [
            {"track_uri": uris[a]}, {"track_name": names[b], "artist_name": artists[b]},
            {"track_name": f"Unknown {i}", "artist_name": "Load Test Band"}]}).encode())
    return out


def wait_healthy(port: int, process: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"llara serve exited with {process.returncode}")
        try:
            conn = HTTPConnection(HOST, port, timeout=2)
            conn.request("GET", "/health")
            if conn.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit("llara serve did not become healthy")


def drive(port: int, payloads: list[bytes], rate: float, workers: int) -> dict:
    start = time.perf_counter() + 0.2
    latencies = [0.0] * len(payloads)
    errors: list[str] = []
    next_index = iter(range(len(payloads)))
    lock = threading.Lock()

    def worker() -> None:
        conn = HTTPConnection(HOST, port, timeout=30)
        while True:
            with lock:
                i = next(next_index, None)
            if i is None:
                break
            due = start + i / rate
            delay = due - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            try:
                conn.request("POST", "/predict", body=payloads[i],
                             headers={"content-type": "application/json"})
                response = conn.getresponse()
                payload = response.read()
                if response.status != 200:
                    errors.append(f"{response.status}: {payload[:200]!r}")
            except OSError as e:
                errors.append(f"{type(e).__name__}: {e}")
                conn.close()
                conn = HTTPConnection(HOST, port, timeout=30)
            latencies[i] = (time.perf_counter() - due) * 1000
        conn.close()

    threads = [threading.Thread(target=worker) for _ in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    lat = np.array(latencies)
    return {"requests": len(payloads), "errors": len(errors), "error_samples": errors[:5],
            "target_rps": rate, "achieved_rps": round(len(payloads) / elapsed, 1),
            "p50_ms": round(float(np.percentile(lat, 50)), 2),
            "p99_ms": round(float(np.percentile(lat, 99)), 2),
            "max_ms": round(float(lat.max()), 2), "seconds": round(elapsed, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bundle", type=Path, help="serve this local bundle folder")
    parser.add_argument("--rate", type=float, default=50.0, help="requests per second")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of load")
    parser.add_argument("--k", type=int, default=10, help="recommendations per request")
    parser.add_argument("--workers", type=int, default=16, help="client connections")
    args = parser.parse_args()
    bundle = local_bundle(args.bundle)
    count = int(args.rate * args.duration)
    payloads = bodies(bundle, count, args.k)
    port = free_port()
    llara = [sys.executable, "-m", "llara_training.cli"]
    server = subprocess.Popen([*llara, "serve", "--host", HOST, "--port", str(port)],
                              env={**os.environ, "LLARA_BUNDLE": str(bundle)},
                              stderr=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    try:
        wait_healthy(port, server)
        report = drive(port, payloads, args.rate, args.workers)
    finally:
        server.terminate()
        server.wait(timeout=30)
    report.update(k=args.k, bundle=str(bundle), host=HOST)
    print(json.dumps(report, indent=2))
    if report["errors"]:
        sys.exit(1)


if __name__ == "__main__":
    main()

"""Benchmark of what /predict pays to record its request context (``llara.served``).

Compares, per request, the time spent on the request path by the buffered writer (the default:
``ServedLog.record`` queues; a background thread writes batches) with writing one object per
request synchronously (``max_records=1``), on the local store and on an S3-protocol server
(moto's, over real HTTP on loopback; a remote S3 or MinIO adds network round trips to every
synchronous write). Also reports the batch write throughput. ``python scripts/bench_loop.py``
prints JSON; ``make bench`` includes it.
"""
from __future__ import annotations

import json
import os
import socket
import sys
import tempfile
import time
import uuid

import numpy as np

RECORD = dict(model_version="20261204T000000Z-abcdef0123", title="summer road trip",
              seed_uris=[f"spotify:track:{'a' * 22}"] * 5,
              unknown_seeds=[{"track_name": "New Song", "artist_name": "New Band"}],
              recommended=[f"spotify:track:{'b' * 22}"] * 10)


def _percentiles(seconds: list[float]) -> dict[str, float]:
    us = np.asarray(seconds) * 1e6
    return {"p50_us": round(float(np.percentile(us, 50)), 1),
            "p99_us": round(float(np.percentile(us, 99)), 1),
            "mean_us": round(float(us.mean()), 1)}


def _measure(store, requests: int) -> dict:
    from llara.served import ServedLog, read_served

    out = {}
    for mode, batch in (("buffered", 256), ("one_object_per_request", 1)):
        log = ServedLog(store, max_records=batch, max_seconds=1.0)
        timings = []
        for _ in range(requests):
            started = time.perf_counter()
            log.record(request_id=uuid.uuid4().hex, **RECORD)
            timings.append(time.perf_counter() - started)
        started = time.perf_counter()
        log.close()
        out[mode] = {**_percentiles(timings), "close_s": round(time.perf_counter() - started, 3)}
    written = sum(1 for _ in read_served(store))
    out["records_written"] = written
    out["records_expected"] = 2 * requests
    return out


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(requests: int = 2000) -> dict:
    from llara.store import open_store

    result = {"requests": requests}
    with tempfile.TemporaryDirectory() as tmp:
        result["local"] = _measure(open_store(tmp), requests)
    import logging

    import boto3
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per S3 call otherwise

    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        endpoint = f"http://127.0.0.1:{port}"
        os.environ.update(AWS_ENDPOINT_URL=endpoint, AWS_ACCESS_KEY_ID="bench",
                          AWS_SECRET_ACCESS_KEY="bench", AWS_DEFAULT_REGION="us-east-1")
        from llara.config import get_settings

        get_settings.cache_clear()
        boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket="bench")
        result["s3_loopback"] = _measure(open_store("s3://bench/x"), requests // 4)
    finally:
        server.stop()
    return result


if __name__ == "__main__":
    print("[bench] served-record cost ...", file=sys.stderr)
    print(json.dumps(run(), indent=2))

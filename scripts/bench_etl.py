"""ETL benchmark: throughput and peak memory on a generated full-size slice, and the wall time
to ingest the real MPD sample. ``python scripts/bench_etl.py`` prints the figures as JSON;
``run()`` returns them for the project-wide ``scripts/bench.py``.

* ``etl_mb_per_s`` / ``etl_playlists_per_s``: one process, one core, the whole per-object ETL
  (parse, validate, transform, Parquet encode and the atomic writes to a local store) on a
  generated 1,000-playlist slice with every field; median of 3 runs after a warm-up on another
  slice. ``etl_mb_per_cpu_s`` divides by CPU time instead of wall time (the per-core figure,
  robust to a busy machine). ``etl_cold_mb_per_s`` is the first run in a fresh process (a
  cold function start).
* ``etl_peak_rss_mb``: peak resident memory of a fresh process that imports the ETL and
  processes that one slice (``ru_maxrss``), with ``etl_baseline_rss_mb`` (imports only) beside.
* ``sample_ingest_wall_s``: all of ../shared/mpd-sample/slices uploaded to a fresh local store
  and processed through the event handler in-process; null when the sample is absent.
"""
from __future__ import annotations

import json
import logging
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT.parent / "shared" / "mpd-sample" / "slices"

_CHILD = r"""
import json, resource, sys, time
from llara.etl import process_object
from llara.store import open_store
store = open_store(sys.argv[1])
baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
runs = []
for key in sys.argv[2:]:
    started, cpu = time.perf_counter(), time.process_time()
    result = process_object(store, key)
    runs.append({"seconds": time.perf_counter() - started, "cpu_seconds": time.process_time() - cpu,
                 "bytes": result.bytes,
                 "playlists": result.playlists_ok, "status": result.status})
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"baseline_kb": baseline, "peak_kb": peak, "runs": runs}))
"""


def _child(store_dir: str, keys: list[str]) -> dict:
    out = subprocess.run([sys.executable, "-c", _CHILD, store_dir, *keys], check=True,
                         capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def run() -> dict:
    etl_log = logging.getLogger("llara.etl")
    level = etl_log.level
    etl_log.setLevel(logging.ERROR)  # per-object log lines (one empty sample slice warns)
    try:
        return _run()
    finally:
        etl_log.setLevel(level)


def _run() -> dict:
    from llara.generate import generate_slices
    from llara.store import open_store

    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(f"{tmp}/store")
        slices = generate_slices(2000, seed=42)
        warm_name, warm = next(slices)
        name, data = next(slices)
        store.put_bytes(f"raw/{warm_name}", warm)
        store.put_bytes(f"raw/{name}", data)
        key = f"raw/{name}"
        # Memory: a fresh process doing just the one full slice.
        single = _child(f"{tmp}/store", [key])
        # Throughput: a fresh process, cold run first, then a warm-up slice and 3 timed runs.
        timed = _child(f"{tmp}/store", [key, f"raw/{warm_name}", key, key, key])
    cold, steady = timed["runs"][0], timed["runs"][2:]
    seconds = statistics.median(r["seconds"] for r in steady)
    cpu_seconds = statistics.median(r["cpu_seconds"] for r in steady)
    figures = {
        "etl_slice_mb": round(len(data) / 1e6, 1),
        "etl_slice_playlists": steady[0]["playlists"],
        "etl_mb_per_s": round(len(data) / 1e6 / seconds, 1),
        "etl_playlists_per_s": round(steady[0]["playlists"] / seconds),
        "etl_mb_per_cpu_s": round(len(data) / 1e6 / cpu_seconds, 1),
        "etl_cold_mb_per_s": round(len(data) / 1e6 / cold["seconds"], 1),
        "etl_peak_rss_mb": round(single["peak_kb"] / 1024),
        "etl_baseline_rss_mb": round(single["baseline_kb"] / 1024),
        "sample_ingest_wall_s": _sample_ingest(),
    }
    return figures


def _sample_ingest() -> float | None:
    if not SAMPLE.is_dir():
        return None
    from llara.etl import handle_event, object_created_event
    from llara.store import open_store

    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(f"{tmp}/store")
        started = time.perf_counter()
        keys = []
        for path in sorted(SAMPLE.glob("*.json")):
            keys.append(f"raw/{path.name}")
            store.put_bytes(keys[-1], path.read_bytes())
        handle_event(object_created_event(store, keys), store)
        return round(time.perf_counter() - started, 2)


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))

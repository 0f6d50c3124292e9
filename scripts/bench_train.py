"""Training benchmark: each pipeline stage's wall time and peak memory on a large synthetic MPD,
and the whole pipeline on the shared real sample with its evaluation table.
``python scripts/bench_train.py`` prints the figures as JSON; ``run()`` returns them for the
project-wide ``scripts/bench.py``. Progress goes to stderr.

* ``synthetic``: ``llara.generate`` slices (``BENCH_TRAIN_PLAYLISTS``, default 100,000) through
  the ETL into a fresh local store, then ``run_pipeline`` with the default config except
  ``BENCH_TRAIN_EPOCHS`` LLaRA epochs (default 2: an epoch's cost is what scales; the real
  sample below trains fully). Per stage: ``seconds`` and ``peak_rss_mb`` (sampled every 20 ms).
  Set ``BENCH_TRAIN_PLAYLISTS=0`` to skip it.
* ``real_sample``: ../shared/mpd-sample ingested through the ETL into a fresh local store
  (cold embedding cache: every track text is encoded), the default config end to end:
  ``wall_s``, per-stage timings and memory, and the evaluation (overall and cold-start
  NDCG / R-precision / clicks / recall per system). Null when the sample is absent.
"""
from __future__ import annotations

import json
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT.parent / "shared" / "mpd-sample" / "slices"
METRICS = ("ndcg", "r_precision", "clicks", "recall")


def _ingest(store, slices) -> dict:
    from llara.etl import process_object

    started, playlists = time.perf_counter(), 0
    for name, data in slices:
        store.put_bytes(f"raw/{name}", data)
        playlists += process_object(store, f"raw/{name}").playlists_ok
    return {"playlists": playlists, "seconds": round(time.perf_counter() - started, 1)}


def _pipeline(store_dir: str, config) -> dict:
    from llara_training.pipeline import run_pipeline

    started = time.perf_counter()
    result = run_pipeline(config, progress=False)
    table = {system: {scope: {m: round(scopes[scope][m], 4) for m in METRICS}
                      for scope in ("overall", "cold_start") if scope in scopes}
             for system, scopes in result.metrics.items()}
    return {"wall_s": round(time.perf_counter() - started, 1), "stages": {
        name: {"seconds": result.timings[name], "peak_rss_mb": result.peak_rss_mb[name]}
        for name in result.timings}, "evaluation": table, "projector": result.projector,
        "llara_epochs": len(result.history["val_ndcg"]),
        "best_epoch": result.history["best_epoch"]}


def synthetic(playlists: int, epochs: int) -> dict:
    from llara.generate import generate_slices
    from llara.store import open_store
    from llara_training.config import TrainConfig

    with tempfile.TemporaryDirectory() as tmp:
        store_dir = f"{tmp}/store"
        ingest = _ingest(open_store(store_dir), generate_slices(playlists, seed=11))
        config = TrainConfig.model_validate({"store": store_dir, "llara": {"epochs": epochs},
                                             "tracking": {"register_model": False}})
        out = _pipeline(store_dir, config)
    return {"playlists": playlists, "llara_epochs_configured": epochs, "ingest": ingest, **out}


def real_sample() -> dict | None:
    if not SAMPLE.is_dir():
        return None
    from llara.store import open_store
    from llara_training.config import TrainConfig

    with tempfile.TemporaryDirectory() as tmp:
        store_dir = f"{tmp}/store"
        files = sorted(SAMPLE.glob("*.json"))
        ingest = _ingest(open_store(store_dir), ((p.name, p.read_bytes()) for p in files))
        out = _pipeline(store_dir, TrainConfig(store=store_dir))
    return {"ingest": ingest, **out}


def run() -> dict:
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(name)s: %(message)s")
    for noisy in ("mlflow", "alembic", "urllib3", "botocore", "llara.etl"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    playlists = int(os.environ.get("BENCH_TRAIN_PLAYLISTS", "100000"))
    epochs = int(os.environ.get("BENCH_TRAIN_EPOCHS", "2"))
    from llara.config import get_settings

    with tempfile.TemporaryDirectory() as home:  # one MLflow sqlite for both runs
        previous = os.environ.get("LLARA_HOME")
        os.environ["LLARA_HOME"] = home
        get_settings.cache_clear()
        try:
            return {"cpus": os.cpu_count(),
                    "real_sample": real_sample(),
                    "synthetic": synthetic(playlists, epochs) if playlists else None}
        finally:
            if previous is None:
                os.environ.pop("LLARA_HOME", None)
            else:
                os.environ["LLARA_HOME"] = previous
            get_settings.cache_clear()


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))

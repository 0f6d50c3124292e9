"""The training job end to end, through the real parts: generated slices -> the ETL -> an S3
store (moto's server) -> ``llara train --json`` -> a real ``mlflow server`` (sqlite backend,
artifacts proxied to S3) -> the Model Registry; then the run read back from the store."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import requests

from .conftest import ingest_generated

pytestmark = pytest.mark.slow

TINY_CONFIG = """
tracking:
  model_name: llara-e2e
  experiment: e2e
als: {factors: 16, iterations: 4}
projector: {hidden: 64, epochs: 4, batch_size: 256}
llara: {width: 32, hidden: 64, heads: 2, layers: 1, epochs: 2, batch_size: 64,
        sampled_negatives: 256, val_cases: 40, max_seeds: 25}
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def mlflow_server(tmp_path, s3_env, s3_bucket):
    """A real MLflow tracking server: sqlite backend, artifacts proxied to the S3 bucket."""
    port = _free_port()
    env = {**os.environ, "MLFLOW_S3_ENDPOINT_URL": s3_env}
    log = open(tmp_path / "mlflow-server.log", "wb")
    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "mlflow"), "server",
         "--backend-store-uri", f"sqlite:///{tmp_path / 'mlflow.db'}",
         "--artifacts-destination", f"s3://{s3_bucket}/mlflow",
         "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
        env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                if requests.get(f"{url}/health", timeout=5).status_code == 200:
                    break
            except requests.RequestException:  # not listening yet, or still starting
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("mlflow server did not start:\n"
                                   + (tmp_path / "mlflow-server.log").read_text()[-3000:])
            time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


def test_train_through_a_real_mlflow_server_and_s3(tmp_path, monkeypatch, s3_env, s3_bucket,
                                                   mlflow_server):
    import boto3
    import torch
    from mlflow import MlflowClient
    from typer.testing import CliRunner

    from llara.config import get_settings
    from llara.store import open_store
    from llara_training.artifacts import load_run
    from llara_training.cli import app

    store = open_store(f"s3://{s3_bucket}/store")
    ingest_generated(store, playlists=400, n_tracks=700, seed=3)
    monkeypatch.setenv("LLARA_STORE", f"s3://{s3_bucket}/store")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_server)
    get_settings.cache_clear()
    config = tmp_path / "train.yaml"
    config.write_text(TINY_CONFIG)

    result = CliRunner().invoke(app, ["train", "--config", str(config), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["model_name"] == "llara-e2e" and summary["model_version"] == "1"
    assert set(summary["metrics"]) == {"llara", "popularity", "als", "item_knn", "text_knn"}
    for system in summary["metrics"].values():
        assert {"overall", "cold_start"} <= set(system)
        assert {"r_precision", "ndcg", "clicks", "recall"} <= set(system["overall"])
    assert {"encode", "als", "projector", "llara", "evaluate"} <= set(summary["timings"])

    # The registry and the run, as any MLflow client sees them.
    client = MlflowClient(tracking_uri=mlflow_server, registry_uri=mlflow_server)
    version = client.get_model_version("llara-e2e", "1")
    assert version.tags["llara.run_id"] == summary["run_id"]
    run = client.get_run(version.run_id)
    assert run.data.metrics["llara.overall.ndcg"] == pytest.approx(
        summary["metrics"]["llara"]["overall"]["ndcg"])
    assert run.data.metrics["als.cold_start.ndcg"] == pytest.approx(
        summary["metrics"]["als"]["cold_start"]["ndcg"])
    assert "timing.llara" in run.data.metrics and "projector.mean_cosine" in run.data.metrics
    assert run.data.params["llara.width"] == "32"
    assert len(run.data.tags["data.fingerprint"]) == 64
    # Artifacts went through the server into S3.
    keys = [o["Key"] for o in boto3.client("s3", endpoint_url=s3_env).list_objects_v2(
        Bucket=s3_bucket, Prefix="mlflow/").get("Contents", [])]
    assert any(k.endswith("report/report.md") for k in keys)
    assert any(k.endswith("ndcg_by_category.png") for k in keys)
    assert any(k.endswith("run/metrics.json") for k in keys)

    # The run in the store: the model rebuilds and reproduces its saved item vectors.
    assert store.exists(f"reports/{summary['run_id']}/report.json")
    saved = load_run(store)
    assert saved.run_id == summary["run_id"]
    assert saved.item_vectors.shape == (len(saved.catalog), 32)
    assert saved.warm.any() and (~saved.warm).any()
    emb = saved.text_encoder(store).encode(list(saved.catalog.texts))
    with torch.inference_mode():
        warm = np.flatnonzero(saved.warm)[:50]
        cold = np.flatnonzero(~saved.warm)[:50]
        got_warm = saved.model.item_vectors(torch.as_tensor(emb[warm]),
                                            torch.as_tensor(saved.als_item_factors[warm]))
        got_cold = saved.model.cold_item_vectors(torch.as_tensor(emb[cold]))
    np.testing.assert_allclose(got_warm.numpy(), saved.item_vectors[warm], atol=1e-4)
    np.testing.assert_allclose(got_cold.numpy(), saved.item_vectors[cold], atol=1e-4)
    assert saved.metrics["evaluation"]["metrics"]["llara"]["overall"]["ndcg"] == pytest.approx(
        summary["metrics"]["llara"]["overall"]["ndcg"])
    assert saved.encoder["dim"] == 384 and saved.config["llara"]["width"] == 32

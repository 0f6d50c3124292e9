"""The batch training job, one function per run:

processed tables -> split (train / validation / test cases) -> text embeddings (cached) ->
ALS -> projector -> LLaRA -> every system evaluated on the test cases (LLaRA, popularity,
ALS fold-in, item-kNN, text-kNN) -> report and run artifacts in the store -> MLflow (config,
data fingerprint, per-stage timings, metrics per category, plots, the registered model).
"""
from __future__ import annotations

import hashlib
import json
import logging
import tempfile
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from llara_training.config import TrainConfig
from llara_training.data import TrainingData

log = logging.getLogger(__name__)

SYSTEMS = ("llara", "popularity", "als", "item_knn", "text_knn")


@dataclass
class StageTimer:
    """Wall time and peak resident memory of each stage (memory sampled every 20 ms)."""

    seconds: dict[str, float] = field(default_factory=dict)
    peak_rss_mb: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def stage(self, name: str):
        import psutil

        process = psutil.Process()
        peak = [process.memory_info().rss]
        done = threading.Event()

        def sample():
            while not done.wait(0.02):
                peak[0] = max(peak[0], process.memory_info().rss)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        started = time.perf_counter()
        log.info("stage %s ...", name)
        try:
            yield
        finally:
            done.set()
            sampler.join()
            peak[0] = max(peak[0], process.memory_info().rss)
            self.seconds[name] = round(time.perf_counter() - started, 2)
            self.peak_rss_mb[name] = round(peak[0] / 2**20, 1)
            log.info("stage %s: %.1fs, peak RSS %.0f MB", name, self.seconds[name],
                     self.peak_rss_mb[name])


def data_fingerprint(data: TrainingData) -> str:
    """sha256 over the catalog and every playlist of every split: same data, same print."""
    h = hashlib.sha256()
    h.update("\n".join(map(str, data.catalog.uris)).encode())
    h.update(np.asarray(data.train_pids, dtype=np.int64).tobytes())
    for items in data.train_items:
        h.update(np.asarray(items, dtype=np.int64).tobytes())
    for case in data.val_cases + data.test_cases:
        h.update(f"{case.pid}|{case.category}|{case.seeds}|{case.holdout}".encode())
    return h.hexdigest()


def _flatten(prefix: str, value) -> dict[str, object]:
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            out.update(_flatten(f"{prefix}.{k}" if prefix else k, v))
        return out
    return {prefix: value}


@dataclass
class PipelineResult:
    run_id: str
    model_name: str
    model_version: str | None
    metrics: dict  # system -> scope -> metric -> value
    timings: dict[str, float]
    peak_rss_mb: dict[str, float]
    mlflow_run_id: str | None
    report: object  # EvaluationReport
    projector: dict
    history: dict

    def summary(self) -> dict:
        """What ``llara train --json`` prints."""
        return {"run_id": self.run_id, "model_name": self.model_name,
                "model_version": self.model_version, "metrics": self.metrics,
                "timings": self.timings}


def run_pipeline(config: TrainConfig = TrainConfig(), *, store=None,
                 progress: bool = True) -> PipelineResult:
    """Run the whole job; returns the evaluation, timings and the registered model version."""
    from llara.processed import read_processed
    from llara.schedule import Snapshot, current_snapshot, record_training_snapshot
    from llara.store import open_store
    from llara_training.als import fit_als
    from llara_training.artifacts import new_run_id, save_run
    from llara_training.baselines import ALSFoldIn, ItemKNN, PopularityRecommender, TextKNN
    from llara_training.encode import TextEncoder
    from llara_training.evaluate import evaluate, write_report
    from llara_training.feedback_signal import feedback_for_training
    from llara_training.model import (LlaraRecommender, catalog_item_vectors, default_device,
                                      train_llara)
    from llara_training.projector import train_projector
    from llara_training.split import build_dataset

    timer = StageTimer()
    store = store or open_store(config.store)
    run_id = new_run_id()
    device = default_device(config.llara.device)
    with timer.stage("read"):
        # Listed before reading: a slice landing meanwhile is recorded as new and trains next.
        consumed = current_snapshot(store)
        tables = read_processed(store)
        if tables.interactions.num_rows == 0:
            raise ValueError(f"no processed playlists in {store.url}: run `llara ingest` first")
    with timer.stage("split"):
        data = build_dataset(tables, seed=config.data.seed, val_fraction=config.data.val_fraction,
                             test_fraction=config.data.test_fraction,
                             max_cases=config.data.max_cases)
        del tables
        # Listener feedback joins the train playlists (llara_training.feedback_signal).
        feedback, signal = feedback_for_training(store, data, config.feedback)
        fingerprint = data_fingerprint(data)
        user_items = data.user_items()
        if not data.test_cases:
            raise ValueError("the split left no test case: too few playlists to evaluate")
    log.info("data: %d tracks, %d train playlists, %d validation and %d test cases",
             len(data.catalog), len(data.train_items), len(data.val_cases), len(data.test_cases))

    encoder = TextEncoder(config.encoder.model, max_length=config.encoder.max_length,
                          batch_size=config.encoder.batch_size,
                          precision=config.encoder.precision, device=config.encoder.device,
                          store=store, progress=progress)
    with timer.stage("encode"):
        text_emb = encoder.encode(list(data.catalog.texts))
        title_list = sorted({t for t in data.train_titles if t}
                            | {c.title for c in data.val_cases + data.test_cases if c.title})
        titles = dict(zip(title_list, encoder.encode(title_list)))
    encode_stats = dict(encoder.stats)

    with timer.stage("als"):
        als = fit_als(user_items, config.als, progress=progress)
    with timer.stage("projector"):
        projector, projector_report = train_projector(text_emb, als.item_factors, als.warm,
                                                      config.projector, device=device)
    with timer.stage("llara"):
        model, history = train_llara(data, text_emb, als.item_factors, als.warm, projector,
                                     titles, config.llara, k=config.k, progress=progress,
                                     feedback=feedback)
    with timer.stage("item_vectors"):
        item_matrix = catalog_item_vectors(model, text_emb, als.item_factors, als.warm,
                                           device=device)

    def encode_titles(names):
        return np.stack([titles[n] if n in titles else encoder.encode([n])[0] for n in names])

    with timer.stage("evaluate"):
        systems = {
            "llara": LlaraRecommender(model, item_matrix, encode_titles, device=device),
            "popularity": PopularityRecommender(user_items),
            "als": ALSFoldIn(als.model, user_items),
            "item_knn": ItemKNN(user_items),
            "text_knn": TextKNN(text_emb, titles),
        }
        report = evaluate(systems, data.test_cases, data.catalog, k=config.k)
        report_files = write_report(store, run_id, report, history.curves())

    popularity = np.asarray(user_items.sum(axis=0)).ravel().astype(np.int64)
    metrics_doc = {
        "run_id": run_id, "data_fingerprint": fingerprint,
        "data": {"tracks": len(data.catalog), "warm_tracks": int(als.warm.sum()),
                 "train_playlists": len(data.train_items), "val_cases": len(data.val_cases),
                 "test_cases": len(data.test_cases)},
        "evaluation": report.to_dict(),
        "projector": {**projector_report.metrics(), "train_tracks": projector_report.train_tracks,
                      "heldout_tracks": projector_report.heldout_tracks,
                      "neighbours": projector_report.neighbours},
        "history": {"train_loss": history.loss, "val_ndcg": history.val_ndcg,
                    "curriculum": history.curriculum, "best_epoch": history.best_epoch,
                    "stopped_early": history.stopped_early},
        "encoder": encode_stats, "als_gpu": als.used_gpu, "device": device,
        "feedback": signal.counts,
    }
    with timer.stage("save"):
        save_run(store, run_id, model=model, catalog=data.catalog, popularity=popularity,
                 item_vectors=item_matrix.numpy(), als_item_factors=als.item_factors,
                 encoder=encoder.describe(), metrics={**metrics_doc, "timings": timer.seconds},
                 config=config.model_dump())

    with timer.stage("mlflow"):
        mlflow_run_id, version = _track(config, run_id, fingerprint, store, model, report,
                                        report_files, metrics_doc, timer)
    record_training_snapshot(store, Snapshot(run_id=run_id, sources=consumed.sources,
                                             feedback=signal.feedback_keys))
    log.info("run %s: llara ndcg %.4f (cold start %.4f); registered %s version %s", run_id,
             report.metrics["llara"]["overall"]["ndcg"],
             report.metrics["llara"].get("cold_start", {}).get("ndcg", float("nan")),
             config.tracking.model_name, version)
    return PipelineResult(run_id=run_id, model_name=config.tracking.model_name,
                          model_version=version, metrics=report.metrics,
                          timings=dict(timer.seconds), peak_rss_mb=dict(timer.peak_rss_mb),
                          mlflow_run_id=mlflow_run_id, report=report,
                          projector=metrics_doc["projector"], history=metrics_doc["history"])


def _track(config: TrainConfig, run_id: str, fingerprint: str, store, model, report,
           report_files, metrics_doc: dict, timer: StageTimer) -> tuple[str, str | None]:
    """Log the run to MLflow and register the model; returns (MLflow run id, version)."""
    import mlflow
    import mlflow.pytorch

    from llara.config import get_settings
    from llara_training.evaluate import log_to_mlflow

    settings = get_settings()
    uri = config.tracking.tracking_uri or settings.tracking_uri
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)  # the registry lives with the runs (never a stale default)
    if uri.startswith("sqlite:///"):
        # Embedded default: artifacts beside the database, not in ./mlruns of the CWD.
        db = Path(uri[len("sqlite:///"):])
        db.parent.mkdir(parents=True, exist_ok=True)
        if mlflow.get_experiment_by_name(config.tracking.experiment) is None:
            mlflow.create_experiment(config.tracking.experiment,
                                     artifact_location=(db.parent / "mlartifacts").as_uri())
    mlflow.set_experiment(config.tracking.experiment)
    with mlflow.start_run(run_name=run_id) as active:
        mlflow.set_tags({"llara.run_id": run_id, "llara.store": store.url,
                         "data.fingerprint": fingerprint})
        params = _flatten("", config.model_dump())
        mlflow.log_params({k: ("" if v is None else v) for k, v in params.items()})
        mlflow.log_params({f"data.{k}": v for k, v in metrics_doc["data"].items()})
        mlflow.log_metrics({f"timing.{k}": v for k, v in timer.seconds.items()})
        mlflow.log_metrics({f"feedback.{k}": v for k, v in metrics_doc["feedback"].items()})
        mlflow.log_metrics({k: v for k, v in metrics_doc["projector"].items()
                            if isinstance(v, float) and np.isfinite(v)})
        hist = metrics_doc["history"]
        for epoch, (loss, ndcg) in enumerate(zip(hist["train_loss"], hist["val_ndcg"])):
            mlflow.log_metrics({"train.loss": loss, "train.val_ndcg": ndcg}, step=epoch)
        log_to_mlflow(report, report_files)
        with tempfile.TemporaryDirectory() as tmp:
            doc = {**metrics_doc, "timings": timer.seconds}
            (Path(tmp) / "metrics.json").write_text(json.dumps(doc, indent=2, default=float))
            mlflow.log_artifacts(tmp, artifact_path="run")
        version = None
        info = mlflow.pytorch.log_model(
            model, name="model", serialization_format="pickle",
            pip_requirements=[f"torch=={_torch_version()}"],
            registered_model_name=config.tracking.model_name
            if config.tracking.register_model else None)
        if config.tracking.register_model:
            version = str(info.registered_model_version)
            from mlflow import MlflowClient

            MlflowClient().set_model_version_tag(config.tracking.model_name, version,
                                                 "llara.run_id", run_id)
        return active.info.run_id, version


def _torch_version() -> str:
    import torch

    return torch.__version__.split("+")[0]


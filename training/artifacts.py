"""The trained-model contract: what a training run leaves under ``runs/<run-id>/`` in the store,
and how to read it back. Export and ``llara evaluate`` read only these files.

=========================  ===================================================================
``model.pt``               ``{"config": LlaraModel.config, "state_dict": ...}`` (torch.save)
``catalog.parquet``        the catalog in index order: ``track_uri, track_name, artist_name,
                           album_name, text, popularity`` (train playlists containing it),
                           ``warm`` (popularity > 0)
``item_vectors.npy``       float32 [N, D], catalog order: ``item_vectors`` (ALS factor) for
                           warm tracks, ``cold_item_vectors`` (projector) for cold ones
``als_item_factors.npy``   float32 [N, F], the fitted ALS item factors (zeros for cold tracks)
``encoder.json``           ``{"model" (loadable id or path), "name" (configured id),
                           "encoder_id", "max_length", "pooling": "mean", "normalize": true,
                           "dim"}``: how text becomes ``text_emb``
``metrics.json``           the evaluation (``EvaluationReport.to_dict()``), projector report,
                           training history, timings, data fingerprint
``config.json``            the full :class:`~llara_training.config.TrainConfig`
=========================  ===================================================================

``runs/latest.json`` (``{"run_id"}``) is written last, after every file of the run, so a
reader that follows it never sees a partial run.
"""
from __future__ import annotations

import io
import json
import time
import uuid
from dataclasses import dataclass

import numpy as np

from llara_training.data import Catalog

LATEST = "runs/latest.json"
FILES = ("model.pt", "catalog.parquet", "item_vectors.npy", "als_item_factors.npy",
         "encoder.json", "metrics.json", "config.json")


def new_run_id() -> str:
    """Sortable by creation time, unique across machines."""
    return time.strftime("%Y%m%d-%H%M%S", time.gmtime()) + "-" + uuid.uuid4().hex[:8]


def _npy(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, np.ascontiguousarray(array, dtype=np.float32), allow_pickle=False)
    return buf.getvalue()


def _load_npy(data: bytes) -> np.ndarray:
    return np.load(io.BytesIO(data), allow_pickle=False)


def catalog_table(catalog: Catalog, popularity: np.ndarray):
    import pyarrow as pa

    def strings(values):
        return pa.array([None if v is None else str(v) for v in values], type=pa.string())

    popularity = np.asarray(popularity, dtype=np.int64)
    return pa.table({
        "track_uri": strings(catalog.uris), "track_name": strings(catalog.track_names),
        "artist_name": strings(catalog.artist_names), "album_name": strings(catalog.album_names),
        "text": strings(catalog.texts), "popularity": pa.array(popularity),
        "warm": pa.array(popularity > 0),
    })


@dataclass
class TrainedRun:
    run_id: str
    model: object  # LlaraModel (torch imported lazily)
    catalog: Catalog
    popularity: np.ndarray  # int64 [N]
    warm: np.ndarray  # bool [N]
    item_vectors: np.ndarray  # float32 [N, D]
    als_item_factors: np.ndarray  # float32 [N, F]
    encoder: dict
    metrics: dict
    config: dict

    def text_encoder(self, store, **overrides):
        """The run's text encoder, backed by the store's embedding cache (a catalog encoded
        at training time comes back from the cache without running the model)."""
        from llara_training.encode import TextEncoder

        return TextEncoder(model=self.encoder.get("name") or self.encoder["model"],
                           max_length=self.encoder["max_length"],
                           store=store, **overrides)


def save_run(store, run_id: str, *, model, catalog: Catalog, popularity: np.ndarray,
             item_vectors: np.ndarray, als_item_factors: np.ndarray, encoder: dict,
             metrics: dict, config: dict) -> str:
    """Write every file of the run, then point ``runs/latest.json`` at it. Returns the prefix."""
    import pyarrow.parquet as pq
    import torch

    if not (len(catalog) == len(popularity) == len(item_vectors) == len(als_item_factors)):
        raise ValueError("catalog, popularity, item vectors and ALS factors differ in length")
    prefix = f"runs/{run_id}/"
    buf = io.BytesIO()
    torch.save({"config": dict(model.config), "state_dict": model.state_dict()}, buf)
    store.put_bytes(prefix + "model.pt", buf.getvalue())
    buf = io.BytesIO()
    pq.write_table(catalog_table(catalog, popularity), buf)
    store.put_bytes(prefix + "catalog.parquet", buf.getvalue())
    store.put_bytes(prefix + "item_vectors.npy", _npy(item_vectors))
    store.put_bytes(prefix + "als_item_factors.npy", _npy(als_item_factors))
    for name, doc in (("encoder.json", encoder), ("metrics.json", metrics),
                      ("config.json", config)):
        store.put_bytes(prefix + name, json.dumps(doc, indent=2, default=float).encode())
    store.put_bytes(LATEST, json.dumps({"run_id": run_id}).encode())
    return prefix


def latest_run_id(store) -> str:
    """The most recently completed run; LookupError when the store has none."""
    from llara.store import ObjectNotFound

    try:
        return json.loads(store.get_bytes(LATEST))["run_id"]
    except ObjectNotFound:
        raise LookupError(f"no trained run in {store.url}: run `llara train` first") from None


def load_run(store, run_id: str | None = None) -> TrainedRun:
    """Read ``runs/<run_id>/`` (default: the latest run) back into memory."""
    import pyarrow.parquet as pq
    import torch

    from llara_training.model import LlaraModel

    run_id = run_id or latest_run_id(store)
    prefix = f"runs/{run_id}/"
    saved = torch.load(io.BytesIO(store.get_bytes(prefix + "model.pt")), weights_only=True)
    model = LlaraModel.from_config(saved["config"])
    model.load_state_dict(saved["state_dict"])
    model.eval()
    table = pq.read_table(io.BytesIO(store.get_bytes(prefix + "catalog.parquet")))
    catalog = Catalog.from_columns(*(table.column(c).to_pylist() for c in (
        "track_uri", "track_name", "artist_name", "album_name", "text")))
    return TrainedRun(
        run_id=run_id, model=model, catalog=catalog,
        popularity=table.column("popularity").to_numpy(),
        warm=table.column("warm").to_numpy(zero_copy_only=False),
        item_vectors=_load_npy(store.get_bytes(prefix + "item_vectors.npy")),
        als_item_factors=_load_npy(store.get_bytes(prefix + "als_item_factors.npy")),
        encoder=json.loads(store.get_bytes(prefix + "encoder.json")),
        metrics=json.loads(store.get_bytes(prefix + "metrics.json")),
        config=json.loads(store.get_bytes(prefix + "config.json")),
    )

"""Generated MPD data for the training tests: synthetic slices with genre structure
(``llara.generate``) run through the real ETL into a local store, and one small model trained
on them that the behaviour tests share."""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pytest

GEN_PLAYLISTS, GEN_TRACKS, GEN_SEED = 1500, 2500, 7


def ingest_generated(store, playlists: int, n_tracks: int, seed: int) -> None:
    """Write generated slices to ``raw/`` and run the ETL on each (as the bucket event does)."""
    from llara.etl import process_object
    from llara.generate import generate_slices

    for name, data in generate_slices(playlists, seed, n_tracks):
        store.put_bytes(f"raw/{name}", data)
        assert process_object(store, f"raw/{name}").status == "processed"


def track_genres(uris, n_tracks: int = GEN_TRACKS, seed: int = GEN_SEED) -> np.ndarray:
    """The generator's genre of each URI (its catalog is the first draw of its seeded rng)."""
    from llara.generate import build_catalog

    catalog = build_catalog(np.random.default_rng(seed), n_tracks)
    genre = dict(zip(catalog.track_uri, catalog.track_genre.tolist()))
    return np.array([genre[u] for u in uris])


@pytest.fixture(scope="session")
def generated_store(tmp_path_factory):
    from llara.store import open_store

    store = open_store(str(tmp_path_factory.mktemp("generated") / "store"))
    ingest_generated(store, GEN_PLAYLISTS, GEN_TRACKS, GEN_SEED)
    return store


@dataclass
class Trained:
    data: object
    text_emb: np.ndarray
    titles: dict
    als: object
    projector_report: object
    model: object
    history: object
    item_matrix: object
    encoder: object


TINY_LLARA = dict(width=64, hidden=128, heads=2, layers=1, epochs=6, batch_size=128,
                  sampled_negatives=512, val_cases=150, max_seeds=25, patience=2)


@pytest.fixture(scope="session")
def trained(generated_store) -> Trained:
    """ALS, projector and a small LLaRA model on the generated data (about 30 s on 2 cores)."""
    from llara.processed import read_processed
    from llara_training.als import fit_als
    from llara_training.config import AlsConfig, LlaraConfig, ProjectorConfig
    from llara_training.encode import TextEncoder
    from llara_training.model import catalog_item_vectors, train_llara
    from llara_training.projector import train_projector
    from llara_training.split import build_dataset

    data = build_dataset(read_processed(generated_store), seed=0)
    # Tracks that no train playlist may contain (as if only validation/test had them): the
    # generator's catalog is dense enough that the split alone leaves none cold.
    withheld = np.random.default_rng(0).choice(len(data.catalog), len(data.catalog) // 20,
                                               replace=False)
    data = replace(data, train_items=[x[~np.isin(x, withheld)] for x in data.train_items])
    encoder = TextEncoder(store=generated_store, progress=False)
    text_emb = encoder.encode(list(data.catalog.texts))
    names = sorted({t for t in data.train_titles if t}
                   | {c.title for c in data.val_cases + data.test_cases if c.title})
    titles = dict(zip(names, encoder.encode(names)))
    als = fit_als(data.user_items(), AlsConfig(factors=32, iterations=10), progress=False)
    projector, report = train_projector(text_emb, als.item_factors, als.warm,
                                        ProjectorConfig(hidden=128, epochs=20, batch_size=256))
    model, history = train_llara(data, text_emb, als.item_factors, als.warm, projector, titles,
                                 LlaraConfig(**TINY_LLARA), progress=False)
    items = catalog_item_vectors(model, text_emb, als.item_factors, als.warm)
    return Trained(data, text_emb, titles, als, report, model, history, items, encoder)

"""Skips as hard negatives in the LLaRA loss: the skipped track falls for its seed context."""
from __future__ import annotations

import numpy as np

from llara_training.config import LlaraConfig
from llara_training.data import Case, Catalog, TrainingData
from llara_training.feedback_signal import TrainWeights


def _rank_of(model_and_items, seeds, track) -> int:
    from llara_training.model import LlaraRecommender, catalog_item_vectors

    model, text_emb, behaviour, warm = model_and_items
    items = catalog_item_vectors(model, text_emb, behaviour, warm)
    recs = LlaraRecommender(model, items, lambda names: np.zeros((len(names), 16), np.float32)
                            ).recommend([Case(0, "first_5", None, seeds, (0,))], 40)[0]
    return int(np.flatnonzero(recs == track)[0])


def _train(hard_negatives: dict[int, np.ndarray]):
    from llara_training.model import train_llara
    from llara_training.projector import Projector

    rng = np.random.default_rng(0)
    n, playlists = 48, 100
    text_emb = rng.standard_normal((n, 16)).astype(np.float32)
    behaviour = rng.standard_normal((n, 8)).astype(np.float32)
    warm = np.ones(n, bool)
    items = [rng.choice(n, 6, replace=False) for _ in range(playlists)]
    # the feedback: for seeds (0, 1), track 2 was liked and track 3 skipped, many times;
    # and track 3 is popular with those seeds elsewhere, so without the skips it ranks high
    items += [np.array([0, 1, 2])] * 30 + [np.array([0, 1, 3, 4])] * 30
    catalog = Catalog.from_columns([f"u{i}" for i in range(n)], ["t"] * n, ["a"] * n,
                                   [None] * n, ["t a"] * n)
    val = [Case(-1, "first_5", None, (0, 1), (2,))]
    data = TrainingData(catalog, np.arange(len(items)), [""] * len(items), items, val, [])
    weights = np.ones(len(items))
    feedback = TrainWeights(weights, hard_negatives, 4.0)
    config = LlaraConfig(width=16, hidden=32, heads=2, layers=1, epochs=3, batch_size=64,
                         sampled_negatives=32, positives=1, examples_per_playlist=2,
                         cold_item_rate=0.0, curriculum_fraction=0.0, title_dropout=0.0,
                         dropout=0.0, lr=5e-3, patience=100)
    model, _ = train_llara(data, text_emb, behaviour, warm, Projector(16, 8, hidden=16), {},
                           config, k=10, progress=False, feedback=feedback)
    return model, text_emb, behaviour, warm


def test_skipped_track_ranks_lower_for_its_seed_context():
    pseudo = range(100, 130)  # the liked-2 pseudo-playlists carry the skip of track 3
    without = _rank_of(_train({}), (0, 1), 3)
    with_skips = _rank_of(_train({r: np.array([3]) for r in pseudo}), (0, 1), 3)
    assert with_skips > without + 3, (without, with_skips)

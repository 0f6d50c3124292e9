"""Model behaviour on generated MPD data with genre structure (llara.generate -> ETL ->
split): LLaRA clearly beats popularity, cold tracks (never in a train playlist) reach the top
of the ranking from their text, and seeds the catalog has never seen still steer it."""
from __future__ import annotations

import numpy as np
import pytest

from llara_training.baselines import ALSFoldIn, PopularityRecommender
from llara_training.data import Case
from llara_training.evaluate import evaluate
from llara_training.model import LlaraRecommender

from .conftest import track_genres

pytestmark = pytest.mark.slow


def _recommender(trained, item_matrix=None):
    titles = trained.titles
    return LlaraRecommender(trained.model, trained.item_matrix if item_matrix is None
                            else item_matrix, lambda names: np.stack([titles[n] for n in names]))


def test_llara_beats_popularity_clearly(trained):
    data = trained.data
    report = evaluate({"llara": _recommender(trained),
                       "popularity": PopularityRecommender(data.user_items())},
                      data.test_cases, data.catalog)
    llara, pop = report.metrics["llara"], report.metrics["popularity"]
    assert llara["overall"]["ndcg"] > 1.5 * pop["overall"]["ndcg"]
    assert llara["overall"]["r_precision"] > 1.5 * pop["overall"]["r_precision"]
    assert llara["overall"]["clicks"] < pop["overall"]["clicks"]
    assert llara["cold_start"]["ndcg"] > 1.5 * pop["cold_start"]["ndcg"]
    # Validation NDCG was tracked and the best epoch kept.
    assert trained.history.best_epoch == int(np.argmax(trained.history.val_ndcg))


def test_cold_tracks_reach_the_top_k_from_their_text(trained):
    """A track no train playlist contains is found for a playlist of its genre; ALS fold-in
    (no factor for it) never ranks it."""
    data = trained.data
    warm = trained.als.warm
    assert not warm[np.setdiff1d(np.arange(len(warm)), np.concatenate(data.train_items))].any()
    genres = track_genres(data.catalog.uris)
    cold = np.flatnonzero(~warm)
    assert len(cold) >= 20, "the generated split should leave cold tracks"
    rng = np.random.default_rng(0)
    cases = []
    for pid, track in enumerate(cold[:60].tolist()):
        mates = np.flatnonzero(warm & (genres == genres[track]))
        seeds = tuple(rng.choice(mates, min(10, len(mates)), replace=False).tolist())
        cases.append(Case(pid=pid, category="first_10", title=None, seeds=seeds,
                          holdout=(track,)))
    k = 100  # of ~2,500 tracks: chance would put 4% of them here
    llara = _recommender(trained).recommend(cases, k)
    found = np.mean([c.holdout[0] in set(r.tolist()) for c, r in zip(cases, llara)])
    als = ALSFoldIn(trained.als.model, data.user_items()).recommend(cases, k)
    als_found = np.mean([c.holdout[0] in set(r.tolist()) for c, r in zip(cases, als)])
    assert found >= 0.4, f"only {found:.0%} of cold tracks reached the top {k}"
    assert als_found < found / 4


def test_unseen_seed_tracks_steer_recommendations_from_text(trained):
    """Seeds absent from the catalog (only their text known: projector -> hybrid token) give
    recommendations of their genre, far above what popularity offers."""
    data = trained.data
    genres = track_genres(data.catalog.uris)
    model = trained.model
    import torch

    # The test cases again, but each seed replaced by a brand-new catalog entry with the same
    # text: the model only has cold_item_vectors(text) for it.
    seeded = [c for c in data.test_cases if c.seeds][:150]
    n = len(data.catalog)
    extra_rows = [s for c in seeded for s in c.seeds]
    with torch.inference_mode():
        extra = model.cold_item_vectors(torch.as_tensor(trained.text_emb[extra_rows]))
    items = torch.cat([trained.item_matrix, extra])
    cases, offset = [], n
    for c in seeded:
        new = tuple(range(offset, offset + len(c.seeds)))
        offset += len(c.seeds)
        cases.append(Case(c.pid, c.category, c.title, new, c.holdout))
    recs = _recommender(trained, items).recommend(cases, 50)
    assert all(len(r) == 50 and r.max() < n + len(extra_rows) for r in recs)
    same_genre = np.mean([np.mean(genres[r[r < n]] == np.bincount(genres[list(c.holdout)]).argmax())
                          for c, r in zip(cases, recs)])
    pop = PopularityRecommender(data.user_items()).recommend(cases, 50)
    pop_genre = np.mean([np.mean(genres[r[r < n]] == np.bincount(genres[list(c.holdout)]).argmax())
                         for c, r in zip(cases, pop)])
    assert same_genre > 0.5 and same_genre > 3 * pop_genre

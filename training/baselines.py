"""The baselines LLaRA is measured against, one class per algorithm (configuration as keyword
arguments), each a :class:`~llara_training.data.Recommender`:

* :class:`PopularityRecommender`: the most frequent train tracks.
* :class:`ALSFoldIn`: ``implicit`` ALS, a new playlist folded in from its seed tracks
  (``recalculate_user=True``).
* :class:`ItemKNN`: ``implicit``'s item-item cosine neighbours of the seed tracks.
* :class:`TextKNN`: the tracks whose text embeddings are nearest the mean of the seed and
  title embeddings.

Every recommender returns, per case, up to ``k`` distinct catalog indices, best first, never
a seed. Where a method has nothing to say (no warm seed, fewer than ``k`` scored tracks) the
list is completed by popularity, so every system fills its 500 slots.
"""
from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence

import numpy as np
import scipy.sparse as sp

from llara_training.data import Case

# Cases scored per matrix product: bounds memory (chunk x catalog floats) on a 200k catalog.
SCORE_CHUNK = 128


def top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Indices of the ``k`` highest finite scores of each row, best first (ties: lower index)."""
    n = scores.shape[1]
    k = min(k, n)
    if k == 0:
        return np.zeros((scores.shape[0], 0), dtype=np.int64)
    part = np.argpartition(-scores, k - 1, axis=1)[:, :k] if k < n else np.tile(
        np.arange(n), (scores.shape[0], 1))
    part_scores = np.take_along_axis(scores, part, axis=1)
    order = np.lexsort((part, -part_scores), axis=1)
    return np.take_along_axis(part, order, axis=1)


def complete(ranked: np.ndarray, fallback: np.ndarray, exclude: Sequence[int],
             k: int) -> np.ndarray:
    """``ranked`` (minus ``exclude``), then ``fallback`` items not yet there, up to ``k``."""
    banned = set(int(i) for i in exclude)
    out: list[int] = []
    for source in (ranked, fallback):
        for i in source.tolist():
            if len(out) >= k:
                return np.asarray(out, dtype=np.int64)
            if i not in banned:
                banned.add(i)
                out.append(i)
    return np.asarray(out, dtype=np.int64)


def seed_matrix(cases: Sequence[Case], n_items: int) -> sp.csr_matrix:
    """Cases x items, 1 where an item is a seed (seeds beyond ``n_items`` dropped)."""
    rows, cols = [], []
    for r, case in enumerate(cases):
        for i in set(case.seeds):
            if i < n_items:
                rows.append(r)
                cols.append(i)
    return sp.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)),
                         shape=(len(cases), n_items))


def item_counts(user_items: sp.spmatrix, n_items: int | None = None) -> np.ndarray:
    """Train playlists containing each item; zeros for items beyond the matrix (an extended
    catalog's new tracks)."""
    counts = np.asarray(user_items.sum(axis=0)).ravel()
    if n_items is not None and n_items > len(counts):
        counts = np.concatenate([counts, np.zeros(n_items - len(counts))])
    return counts


def _as_counts(counts) -> np.ndarray:
    """Item counts given directly, or counted from a train user-items matrix."""
    return item_counts(counts) if sp.issparse(counts) else np.asarray(counts)


class PopularityRecommender:
    """The tracks in the most train playlists, the same list for every case (minus its seeds).
    ``counts[i]``: train playlists containing item i (see :func:`item_counts`), or the train
    user-items matrix to count them from."""

    def __init__(self, counts, *, name: str = "popularity"):
        self.name = name
        self.counts = _as_counts(counts)
        # Stable sort: equal counts keep index order, so the ranking is reproducible.
        self.order = np.argsort(-self.counts, kind="stable")

    def recommend(self, cases: Sequence[Case], k: int) -> list[np.ndarray]:
        head = self.order[: k + max((len(c.seeds) for c in cases), default=0)]
        return [complete(head, head[:0], c.seeds, k) for c in cases]


class ALSFoldIn:
    """A fitted ``implicit`` ALS model; each case becomes a new user solved from its seeds.

    ``counts`` as for :class:`PopularityRecommender`. Only warm seeds (``counts > 0``: tracks
    with a train interaction) carry signal, and only warm tracks are ranked by the factors
    (implicit leaves an unplayed item's factors at their random initialisation). A case
    without a warm seed (title only, or only cold seeds) gets popularity, and popularity
    completes every list.
    """

    def __init__(self, model, counts, *, name: str = "als"):
        self.model = model.to_cpu() if hasattr(model, "to_cpu") else model
        self.name = name
        self.n_model_items = self.model.item_factors.shape[0]
        self.popularity = PopularityRecommender(counts)
        self.warm = self.popularity.counts[: self.n_model_items] > 0
        self.cold = np.flatnonzero(~self.warm)

    def recommend(self, cases: Sequence[Case], k: int) -> list[np.ndarray]:
        results = self.popularity.recommend(cases, k)
        folded = [r for r, c in enumerate(cases)
                  if any(i < self.n_model_items and self.warm[i] for i in c.seeds)]
        if not folded:
            return results
        user_items = seed_matrix([cases[r] for r in folded], self.n_model_items)
        n = min(int(self.warm.sum()), k + max(len(cases[r].seeds) for r in folded))
        ids, scores = self.model.recommend(np.arange(len(folded)), user_items, N=n,
                                           filter_already_liked_items=True,
                                           filter_items=self.cold if len(self.cold) else None,
                                           recalculate_user=True)
        fallback = self.popularity.order[: k + n]
        for row, r in enumerate(folded):
            ranked = ids[row][np.isfinite(scores[row]) & (ids[row] >= 0)]
            results[r] = complete(ranked, fallback, cases[r].seeds, k)
        return results


class ItemKNN:
    """``implicit.nearest_neighbours.CosineRecommender`` over train playlists; a case scores
    items by summed cosine similarity to its seeds (tracks with no neighbour: popularity)."""

    def __init__(self, train_user_items: sp.spmatrix, *, neighbours: int = 200,
                 n_items: int | None = None, name: str = "item_knn"):
        from implicit.nearest_neighbours import CosineRecommender
        from implicit.utils import ParameterWarning

        self.name = name
        self.model = CosineRecommender(K=neighbours)
        with warnings.catch_warnings():
            # implicit normalises the matrix into COO itself, then warns about its own format
            warnings.simplefilter("ignore", ParameterWarning)
            self.model.fit(sp.csr_matrix(train_user_items, dtype=np.float32),
                           show_progress=False)
        self.n_model_items = train_user_items.shape[1]
        self.popularity = PopularityRecommender(item_counts(train_user_items, n_items))

    def recommend(self, cases: Sequence[Case], k: int) -> list[np.ndarray]:
        user_items = seed_matrix(cases, self.n_model_items)
        n = min(self.n_model_items, k + max((len(c.seeds) for c in cases), default=0))
        ids, scores = self.model.recommend(np.arange(len(cases)), user_items, N=n,
                                           filter_already_liked_items=True)
        fallback_len = k + max((len(c.seeds) for c in cases), default=0)
        fallback = self.popularity.order[: fallback_len]
        results = []
        for row, case in enumerate(cases):
            ranked = ids[row][(scores[row] > 0) & np.isfinite(scores[row])]
            results.append(complete(ranked, fallback, case.seeds, k))
        return results


def _normalise(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    norms = np.linalg.norm(x, axis=-1, keepdims=True)
    return x / np.maximum(norms, 1e-12)


class TextKNN:
    """Cosine nearest neighbours in text-embedding space: the query is the mean of the
    (unit-normalised) seed-track embeddings and the title embedding; every catalog track,
    warm or cold, is a candidate. Needs no encoder: embeddings are given."""

    def __init__(self, item_embeddings: np.ndarray, title_embeddings: Mapping[str, np.ndarray],
                 *, name: str = "text_knn", chunk: int = SCORE_CHUNK):
        self.name = name
        self.items = _normalise(item_embeddings)
        self.titles = title_embeddings
        self.chunk = chunk

    def query(self, case: Case) -> np.ndarray:
        parts = [self.items[list(case.seeds)]] if case.seeds else []
        if case.title is not None:
            if case.title not in self.titles:
                raise KeyError(f"no embedding for title {case.title!r}: encode every case "
                               "title before building TextKNN")
            parts.append(_normalise(self.titles[case.title])[None, :])
        if not parts:
            raise ValueError(f"case {case.pid} has neither a title nor seeds")
        return np.concatenate(parts).mean(axis=0)

    def recommend(self, cases: Sequence[Case], k: int) -> list[np.ndarray]:
        results = []
        for start in range(0, len(cases), self.chunk):
            batch = cases[start:start + self.chunk]
            scores = np.stack([self.query(c) for c in batch]) @ self.items.T
            for row, case in enumerate(batch):
                scores[row, list(case.seeds)] = -np.inf
            ranked = top_k(scores, k)
            for row, case in enumerate(batch):
                results.append(complete(ranked[row][np.isfinite(scores[row, ranked[row]])],
                                        ranked[row][:0], case.seeds, k))
        return results


def als_from_factors(item_factors: np.ndarray, *, regularization: float = 0.05,
                     alpha: float = 10.0):
    """An ``implicit`` ALS model rebuilt from saved item factors: enough to fold in new users
    (``recalculate_user`` needs the item factors, the regularisation and alpha only)."""
    from implicit.cpu.als import AlternatingLeastSquares

    factors = np.ascontiguousarray(item_factors, dtype=np.float32)
    model = AlternatingLeastSquares(factors=factors.shape[1], regularization=regularization,
                                    alpha=alpha, random_state=0)
    model.item_factors = factors
    model.user_factors = np.zeros((0, factors.shape[1]), dtype=np.float32)
    return model


def baseline_systems(counts: np.ndarray, *, als_model=None, train_user_items=None,
                     item_embeddings: np.ndarray | None = None,
                     title_embeddings: Mapping[str, np.ndarray] | None = None,
                     knn_neighbours: int = 200) -> dict[str, object]:
    """The baselines that can be built from what is given, keyed by their report names
    (``popularity``, ``als``, ``item_knn``, ``text_knn``), on a catalog of ``len(counts)``."""
    systems: dict[str, object] = {"popularity": PopularityRecommender(counts)}
    if als_model is not None:
        systems["als"] = ALSFoldIn(als_model, counts)
    if train_user_items is not None:
        systems["item_knn"] = ItemKNN(train_user_items, neighbours=knn_neighbours,
                                      n_items=len(counts))
    if item_embeddings is not None and title_embeddings is not None:
        systems["text_knn"] = TextKNN(item_embeddings, title_embeddings)
    return systems

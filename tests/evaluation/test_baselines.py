"""Every baseline honours the Recommender contract (a shared mixin, as in benfred/implicit's
tests) and learns the toy world's genre structure; plus what each one does specifically."""
from __future__ import annotations

import numpy as np
import pytest

from llara_training.baselines import (
    ALSFoldIn,
    ItemKNN,
    PopularityRecommender,
    TextKNN,
    item_counts,
    top_k,
)
from llara_training.data import Case
from llara_training.metrics import ndcg

GENRES, PER_GENRE = 8, 150  # the toy world of conftest.make_tables


def genre_of(i) -> np.ndarray:
    return np.asarray(i) // PER_GENRE


class RandomRecommender:
    name = "random"

    def __init__(self, n_items: int, seed: int = 0):
        self.n_items, self.seed = n_items, seed

    def recommend(self, cases, k):
        rng = np.random.default_rng(self.seed)
        out = []
        for case in cases:
            order = rng.permutation(self.n_items)
            out.append(order[~np.isin(order, case.seeds)][:k])
        return out


@pytest.fixture(scope="module")
def als_model(toy_data):
    from implicit.als import AlternatingLeastSquares

    model = AlternatingLeastSquares(factors=16, regularization=0.05, iterations=15,
                                    random_state=0)
    model.fit(toy_data.user_items(), show_progress=False)
    return model


@pytest.fixture(scope="module")
def text_embeddings(toy_data):
    """Genre-revealing 'text': a one-hot genre direction plus noise, and title vectors."""
    rng = np.random.default_rng(0)
    n = len(toy_data.catalog)
    items = np.zeros((n, 24), np.float32)
    items[np.arange(n), genre_of(np.arange(n))] = 1.0
    items += rng.normal(scale=0.3, size=items.shape).astype(np.float32)
    titles = {}
    for g in range(GENRES):
        vec = np.zeros(24, np.float32)
        vec[g] = 1.0
        titles[f"genre{g} mix"] = vec
    return items, titles


def mean_ndcg(recommender, cases, k=50):
    recs = recommender.recommend(cases, k)
    return float(np.mean([ndcg(r, c.holdout, k) for r, c in zip(recs, cases)]))


class RecommenderContract:
    """The shared checks; a subclass provides ``recommender(toy_data, ...)``."""

    @pytest.fixture
    def rec(self, toy_data, als_model, text_embeddings):
        return self.make(toy_data, als_model, text_embeddings)

    def test_lists_of_unique_catalog_indices_never_a_seed(self, rec, toy_data):
        cases = toy_data.test_cases
        recs = rec.recommend(cases, 100)
        assert len(recs) == len(cases)
        for r, case in zip(recs, cases):
            r = np.asarray(r)
            assert r.dtype.kind == "i" and len(r) == 100
            assert len(set(r.tolist())) == len(r)
            assert r.min() >= 0 and r.max() < len(toy_data.catalog)
            assert not set(r.tolist()) & set(case.seeds)

    def test_deterministic(self, rec, toy_data):
        cases = toy_data.val_cases
        first, second = rec.recommend(cases, 50), rec.recommend(cases, 50)
        assert all(np.array_equal(a, b) for a, b in zip(first, second))

    def test_title_only_case(self, rec, toy_data):
        case = Case(pid=-1, category="title_only", title="genre3 mix", seeds=(), holdout=(1,))
        (r,) = rec.recommend([case], 20)
        assert len(r) == 20 and len(set(r.tolist())) == 20

    def test_k_larger_than_the_catalog(self, rec, toy_data):
        n = len(toy_data.catalog)
        case = next(c for c in toy_data.test_cases if len(c.seeds) >= 5)
        (r,) = rec.recommend([case], n + 500)
        assert len(r) == n - len(set(case.seeds))
        assert len(set(r.tolist())) == len(r)

    def test_no_case_at_all(self, rec):
        assert rec.recommend([], 10) == []

    def test_beats_random_on_structured_data(self, rec, toy_data):
        cases = toy_data.test_cases + toy_data.val_cases
        random_ndcg = mean_ndcg(RandomRecommender(len(toy_data.catalog)), cases)
        assert mean_ndcg(rec, cases) > 1.5 * random_ndcg + 0.02


class TestPopularity(RecommenderContract):
    def make(self, data, als_model, text_embeddings):
        return PopularityRecommender(item_counts(data.user_items()))

    def test_most_frequent_first(self, toy_data):
        rec = PopularityRecommender(item_counts(toy_data.user_items()))
        counts = np.asarray(toy_data.user_items().sum(axis=0)).ravel()
        (r,) = rec.recommend([Case(0, "title_only", "x", (), (1,))], 30)
        assert np.all(np.diff(counts[r]) <= 0)
        assert counts[r[0]] == counts.max()


class TestALSFoldIn(RecommenderContract):
    def make(self, data, als_model, text_embeddings):
        return ALSFoldIn(als_model, item_counts(data.user_items()))

    def test_folds_in_the_seeds(self, toy_data, als_model):
        rec = ALSFoldIn(als_model, item_counts(toy_data.user_items()))
        popular = PopularityRecommender(item_counts(toy_data.user_items()))
        case = next(c for c in toy_data.test_cases if len(c.seeds) >= 5)
        (r,) = rec.recommend([case], 30)
        (p,) = popular.recommend([case], 30)
        assert not np.array_equal(r, p)
        seed_genre = np.bincount(genre_of(case.seeds)).argmax()
        assert np.mean(genre_of(r) == seed_genre) > 0.8

    def test_no_warm_seed_falls_back_to_popularity(self, toy_data, als_model):
        rec = ALSFoldIn(als_model, item_counts(toy_data.user_items()))
        cold = np.flatnonzero(~toy_data.warm_mask())
        seeds = tuple(int(i) for i in cold[:2])
        case = Case(0, "first_5", None, seeds, (1,))
        (r,) = rec.recommend([case], 25)
        (p,) = PopularityRecommender(item_counts(toy_data.user_items())).recommend([case], 25)
        assert np.array_equal(r, p)

    def test_cold_items_only_after_every_warm_one(self, toy_data, als_model):
        # implicit leaves unplayed items at random factors: they must not be ranked by them
        counts = item_counts(toy_data.user_items())
        counts[np.arange(0, len(counts), 7)] = 0  # as if these tracks were only in test
        rec = ALSFoldIn(als_model, counts)
        warm = counts > 0
        case = next(c for c in toy_data.test_cases if len(c.seeds) >= 5)
        (r,) = rec.recommend([case], len(toy_data.catalog))
        flags = warm[r]
        assert flags[: flags.sum()].all() and not flags[flags.sum():].any()

    def test_extended_catalog(self, toy_data, als_model):
        n = len(toy_data.catalog)
        rec = ALSFoldIn(als_model, item_counts(toy_data.user_items(), n + 5))
        case = Case(0, "title_first_5", "x", (0, 1, n + 2), (n + 3,))
        (r,) = rec.recommend([case], n + 10)
        assert len(r) == n + 5 - 3 and set(r[-4:].tolist()) == {n, n + 1, n + 3, n + 4}


class TestItemKNN(RecommenderContract):
    def make(self, data, als_model, text_embeddings):
        return ItemKNN(data.user_items(), neighbours=50)

    def test_neighbours_of_the_seeds(self, toy_data):
        rec = ItemKNN(toy_data.user_items(), neighbours=50)
        case = Case(0, "title_first_1", "x", (2 * PER_GENRE,), (1,))  # a genre-2 hit
        (r,) = rec.recommend([case], 20)
        assert np.all(genre_of(r) == 2)


class TestTextKNN(RecommenderContract):
    def make(self, data, als_model, text_embeddings):
        return TextKNN(*text_embeddings)

    def test_title_alone_finds_its_genre_warm_or_cold(self, toy_data, text_embeddings):
        rec = TextKNN(*text_embeddings)
        (r,) = rec.recommend([Case(0, "title_only", "genre5 mix", (), (1,))], 40)
        assert np.mean(genre_of(r) == 5) > 0.9

    def test_unknown_title_is_a_clear_error(self, text_embeddings):
        rec = TextKNN(*text_embeddings)
        with pytest.raises(KeyError, match="no embedding for title"):
            rec.recommend([Case(0, "title_only", "never encoded", (), (1,))], 5)


def test_top_k_orders_and_breaks_ties_by_index():
    scores = np.array([[0.1, 0.9, 0.5, 0.9, -np.inf], [3.0, 2.0, 1.0, 0.0, 5.0]])
    assert top_k(scores, 3).tolist() == [[1, 3, 2], [4, 0, 1]]
    assert top_k(scores, 10).tolist() == [[1, 3, 2, 0, 4], [4, 0, 1, 2, 3]]


def test_counts_or_the_matrix_they_come_from(toy_data, als_model):
    matrix = toy_data.user_items()
    case = next(c for c in toy_data.test_cases if len(c.seeds) >= 5)
    for make in (PopularityRecommender, lambda x: ALSFoldIn(als_model, x)):
        (a,), (b,) = make(matrix).recommend([case], 40), make(item_counts(matrix)).recommend(
            [case], 40)
        assert np.array_equal(a, b)

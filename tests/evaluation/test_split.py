"""The split: deterministic, in proportion, without leakage; challenge categories."""
from __future__ import annotations

from collections import Counter

import numpy as np
import pyarrow as pa
import pytest

from llara_training.split import (
    CATEGORIES,
    COLD_START_CATEGORIES,
    SPEC_BY_NAME,
    assign_cases,
    build_dataset,
    cases_from_tables,
    split_of,
)

from .conftest import _uri, make_tables


def _playlists_by_pid(tables) -> dict[int, list[str]]:
    inter = tables["interactions"].sort_by([("pid", "ascending"), ("pos", "ascending")])
    out: dict[int, list[str]] = {}
    for pid, uri in zip(inter.column("pid").to_pylist(), inter.column("track_uri").to_pylist()):
        out.setdefault(pid, []).append(uri)
    return out


def test_category_names():
    assert len(CATEGORIES) == 10
    assert set(COLD_START_CATEGORIES) == {"title_only", "title_first_1", "title_first_5",
                                          "first_5"}
    assert CATEGORIES[0] == "title_only"


def test_split_is_a_stable_hash_in_proportion():
    parts = Counter(split_of(pid) for pid in range(20_000))
    assert parts["train"] / 20_000 == pytest.approx(0.8, abs=0.01)
    assert parts["validation"] / 20_000 == pytest.approx(0.1, abs=0.01)
    assert parts["test"] / 20_000 == pytest.approx(0.1, abs=0.01)
    # pinned: a stable hash, not Python's per-process salted hash()
    assert [split_of(pid) for pid in range(8)] == [split_of(pid) for pid in range(8)]
    assert Counter(split_of(pid, seed=1) == split_of(pid) for pid in range(2000))[False] > 300


def test_build_is_deterministic_and_independent_of_row_order(toy_tables, toy_data):
    rng = np.random.default_rng(1)
    shuffled = {name: t.take(pa.array(rng.permutation(t.num_rows)))
                for name, t in toy_tables.items()}
    again = build_dataset(shuffled, seed=0)
    assert list(again.catalog.uris) == list(toy_data.catalog.uris)
    assert again.train_pids.tolist() == toy_data.train_pids.tolist()
    assert [a.tolist() for a in again.train_items] == [a.tolist() for a in toy_data.train_items]
    assert again.val_cases == toy_data.val_cases
    assert again.test_cases == toy_data.test_cases


def test_proportions_and_every_playlist_once(toy_tables, toy_data):
    n = toy_tables["playlists"].num_rows
    val = {c.pid for c in toy_data.val_cases}
    test = {c.pid for c in toy_data.test_cases}
    train = set(toy_data.train_pids.tolist())
    assert not (train & val or train & test or val & test)
    assert len(train) + len(val) + len(test) == n  # toy playlists are all long enough
    assert len(train) / n == pytest.approx(0.8, abs=0.06)
    titles = dict(zip(toy_tables["playlists"].column("pid").to_pylist(),
                      toy_tables["playlists"].column("name").to_pylist()))
    assert toy_data.train_titles == [titles[p] for p in toy_data.train_pids.tolist()]


def test_no_validation_or_test_track_reaches_training(toy_tables, toy_data):
    by_pid = _playlists_by_pid(toy_tables)
    catalog = toy_data.catalog
    # the catalog holds every track, train or not
    assert set(catalog.uris) == set(toy_tables["tracks"].column("track_uri").to_pylist())
    # user_items counts exactly the train playlists (computed here from the raw rows)
    expected = Counter()
    for pid in toy_data.train_pids.tolist():
        expected.update(set(by_pid[pid]))
    counts = np.asarray(toy_data.user_items().sum(axis=0)).ravel()
    assert {catalog.uris[i]: int(c) for i, c in enumerate(counts) if c} == dict(expected)
    assert toy_data.user_items().shape == (len(toy_data.train_pids), len(catalog))
    # a track only in validation/test playlists is cold: an all-zero column
    held = {c.pid for c in toy_data.val_cases + toy_data.test_cases}
    held_only = {u for pid in held for u in by_pid[pid]} - set(expected)
    for uri in held_only:
        assert counts[catalog.index[uri]] == 0
        assert not toy_data.warm_mask()[catalog.index[uri]]


def test_cold_items_from_a_track_only_in_test():
    tables = make_tables(n_playlists=200)
    test_pid = next(pid for pid in range(200) if split_of(pid) == "test")
    # give one test playlist a track nobody else has
    inter = tables["interactions"]
    extra = pa.table({"pid": pa.array([test_pid], pa.int64()), "pos": pa.array([999], pa.int32()),
                      "track_uri": [_uri(99_999)]})
    tracks = tables["tracks"]
    new_track = pa.table({"track_uri": [_uri(99_999)], "track_name": ["lonely"],
                          "artist_name": ["nobody"], "album_name": pa.array([None], pa.string()),
                          "text": ["lonely by nobody"]})
    tables = {**tables, "interactions": pa.concat_tables([inter, extra]),
              "tracks": pa.concat_tables([tracks, new_track])}
    data = build_dataset(tables)
    cold = data.catalog.index[_uri(99_999)]
    assert data.user_items()[:, cold].nnz == 0
    assert not data.warm_mask()[cold]
    case = next(c for c in data.test_cases if c.pid == test_pid)
    assert cold in case.holdout  # the last track: never a "first N" seed


def test_cases_follow_their_category(toy_tables, toy_data):
    by_pid = _playlists_by_pid(toy_tables)
    index = toy_data.catalog.index
    for case in toy_data.val_cases + toy_data.test_cases:
        spec = SPEC_BY_NAME[case.category]
        items = [index[u] for u in by_pid[case.pid]]
        assert len(case.seeds) == spec.num_seeds
        assert (case.title is not None) == spec.with_title
        if not spec.random_seeds:
            assert list(case.seeds) == items[: spec.num_seeds]
        assert case.holdout and not set(case.holdout) & set(case.seeds)
        assert len(set(case.holdout)) == len(case.holdout)
        assert set(case.holdout) | set(case.seeds) == set(items)
        assert spec.min_tracks <= len(items) <= spec.max_tracks


def test_categories_are_balanced_and_random_seeds_are_random():
    rng = np.random.default_rng(0)
    rows = [(pid, f"list {pid}", rng.permutation(400)[: rng.integers(10, 251)])
            for pid in range(3000)]
    cases = assign_cases(rows, seed=0)
    counts = Counter(c.category for c in cases)
    assert set(counts) == set(CATEGORIES)
    # lengths are uniform here, so the long-playlist categories (25 and 100 seeds) have more
    # candidates than the short ones; within each group the fill is even
    short, long = [counts[c] for c in CATEGORIES[:6]], [counts[c] for c in CATEGORIES[6:]]
    assert max(short) - min(short) <= 3 and max(long) - min(long) <= 3
    assert sum(counts.values()) == len(rows)
    items = {pid: list(seq) for pid, _, seq in rows}
    for case in cases:
        if case.category == "title_random_100":
            positions = [items[case.pid].index(s) for s in case.seeds]
            assert positions == sorted(positions)  # playlist order kept
            assert positions != list(range(100))  # not the first 100
    assert assign_cases(list(reversed(rows)), seed=0) == cases
    assert assign_cases(rows, seed=1) != cases


def test_short_playlists_fall_back_and_need_a_holdout():
    rows = [(1, "five", np.arange(5)), (2, "one", np.array([7])), (3, "dupes", np.array([4] * 6))]
    cases = {c.pid: c for c in assign_cases(rows)}
    assert cases[1].category in ("title_only", "title_first_1")
    assert 2 in cases and cases[2].category == "title_only"  # a single track: title only
    assert cases[3].category == "title_only" and cases[3].holdout == (4,)


def test_max_cases_keeps_the_mix(toy_tables):
    data = build_dataset(toy_tables, max_cases=12)
    assert len(data.test_cases) == 12 and len(data.val_cases) == 12
    assert len({c.category for c in data.test_cases}) >= 5
    full = build_dataset(toy_tables)
    assert len(data.train_pids) == len(full.train_pids)  # capped-out playlists stay held out


def test_missing_track_metadata_is_a_clear_error(toy_tables):
    tracks = toy_tables["tracks"].slice(1)
    with pytest.raises(ValueError, match="absent from the tracks table"):
        build_dataset({**toy_tables, "tracks": tracks})


def test_cases_from_any_playlists_extend_the_catalog(toy_data):
    from llara.etl import transform

    catalog = toy_data.catalog
    known = [{"track_uri": catalog.uris[i], "track_name": catalog.track_names[i],
              "artist_name": catalog.artist_names[i]} for i in range(30)]
    unseen = [{"track_uri": f"spotify:track:{'N' * 21}{c}", "track_name": f"new {c}",
               "artist_name": "newcomer", "album_name": "debut"} for c in "ABCDEFGHIJKL"]
    tables = transform([{"pid": 5, "name": "mine", "tracks": known + unseen},
                        {"pid": 6, "name": "short", "tracks": unseen[:3]}], "mine.json").tables
    extended, cases = cases_from_tables(tables, catalog)
    assert len(extended) == len(catalog) + 12
    assert list(extended.uris[: len(catalog)]) == list(catalog.uris)  # old indices kept
    new = extended.index[unseen[0]["track_uri"]]
    assert extended.texts[new] == "new A by newcomer from debut"
    assert {c.pid for c in cases} == {5, 6}
    mine = next(c for c in cases if c.pid == 5)
    assert mine.title in ("mine", None)
    assert any(i >= len(catalog) for i in mine.holdout)
    # nothing new: the catalog is returned as is
    again, _ = cases_from_tables(transform([{"pid": 7, "name": "k", "tracks": known}],
                                           "k.json").tables, catalog)
    assert again is catalog

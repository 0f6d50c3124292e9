"""Feedback joined with served requests becomes training signal; unknown requests are counted."""
from __future__ import annotations

import numpy as np
import orjson

from llara_training.config import FeedbackConfig
from llara_training.data import Catalog, TrainingData
from llara_training.feedback_signal import add_to_training, build_signal, feedback_for_training

URIS = [f"spotify:track:{c * 22}" for c in "abcdefgh"]


def _catalog() -> Catalog:
    return Catalog.from_columns(URIS, [f"t{i}" for i in range(8)], ["a"] * 8, [None] * 8,
                                [f"t{i} a" for i in range(8)])


def _write(store, served, events):
    store.put_bytes("served/date=2026-12-04/1-a.jsonl",
                    b"".join(orjson.dumps(r) + b"\n" for r in served))
    store.put_bytes("feedback/date=2026-12-04/1-b.jsonl", b"".join(
        orjson.dumps({"request_id": r, "track_uri": u, "event": e}) + b"\n"
        for r, u, e in events))


def test_positives_become_pseudo_playlists_and_skips_hard_negatives(store):
    served = [
        {"request_id": "r1", "model_version": "v", "title": "road trip",
         "seed_uris": [URIS[0], URIS[1]],
         "unknown_seeds": [{"track_name": "New", "artist_name": "Band"}], "recommended": []},
        {"request_id": "r2", "model_version": "v", "title": None, "seed_uris": [URIS[2]],
         "unknown_seeds": [], "recommended": []},
        {"request_id": "r3", "model_version": "v", "title": "x", "seed_uris": [],
         "unknown_seeds": [], "recommended": []},
    ]
    events = [("r1", URIS[4], "click"), ("r1", URIS[5], "like"), ("r1", URIS[4], "click"),
              ("r1", URIS[6], "skip"), ("r1", URIS[4], "skip"),  # skipped after a click
              ("r2", URIS[7], "play"),
              ("r3", URIS[3], "skip"),  # skips alone make no playlist
              ("ghost", URIS[3], "click"), ("ghost", URIS[2], "like"),  # unknown request
              ("r2", "spotify:track:" + "z" * 22, "click")]  # not in the catalog
    _write(store, served, events)
    signal = build_signal(store, _catalog(), FeedbackConfig(like_weight=2.5))
    assert signal.request_ids == ["r1", "r2"]
    assert signal.items[0].tolist() == [0, 1, 4, 5]  # seeds first, then the positives
    assert signal.titles == ["road trip", ""]
    assert signal.weights == [3.5, 1.0]  # click 1 (replay ignored) + like 2.5; play 1
    assert signal.negatives[0].tolist() == [6]  # track 4 was also clicked: not a negative
    assert signal.negatives[1].tolist() == []
    c = signal.counts
    assert (c["events"], c["duplicates"], c["unknown_request"], c["not_in_catalog"]) == (10, 1, 2, 1)
    assert (c["pseudo_playlists"], c["positives"], c["hard_negatives"]) == (2, 3, 1)
    assert c["skips_without_positive"] == 1 and c["unknown_seed_texts"] == 1
    assert signal.feedback_keys == ["feedback/date=2026-12-04/1-b.jsonl"]
    # unknown feedback is kept in the store, only not used
    assert b"ghost" in store.get_bytes("feedback/date=2026-12-04/1-b.jsonl")


def test_pseudo_playlists_join_the_train_split_only(store):
    _write(store, [{"request_id": "r1", "model_version": "v", "title": "t",
                    "seed_uris": [URIS[0]], "unknown_seeds": [], "recommended": []}],
           [("r1", URIS[1], "like"), ("r1", URIS[2], "skip")])
    data = TrainingData(_catalog(), np.array([10, 11]), ["a", "b"],
                        [np.array([0, 1, 2]), np.array([3, 4])], val_cases=[], test_cases=[])
    weights, signal = feedback_for_training(store, data, FeedbackConfig(skip_weight=0.5))
    assert data.train_pids.tolist() == [10, 11, -1]
    assert data.train_items[-1].tolist() == [0, 1] and data.train_titles[-1] == "t"
    assert weights.playlist_weights.tolist() == [1.0, 1.0, 2.0]
    assert {k: v.tolist() for k, v in weights.hard_negatives.items()} == {2: [2]}
    assert weights.hard_negative_weight == 0.5
    assert data.val_cases == [] and data.test_cases == []


def test_disabled_feedback_is_counted_but_not_used(store):
    _write(store, [{"request_id": "r1", "model_version": "v", "seed_uris": [URIS[0]]}],
           [("r1", URIS[1], "click")])
    data = TrainingData(_catalog(), np.array([10]), ["a"], [np.array([0, 1])], [], [])
    weights, signal = feedback_for_training(store, data, FeedbackConfig(enabled=False))
    assert weights is None and len(data.train_items) == 1
    assert signal.counts["pseudo_playlists"] == 1


def test_add_to_training_with_no_feedback_changes_nothing_but_weights():
    data = TrainingData(_catalog(), np.array([10]), ["a"], [np.array([0, 1])], [], [])
    from llara_training.feedback_signal import FeedbackSignal

    weights = add_to_training(data, FeedbackSignal())
    assert data.train_pids.tolist() == [10] and weights.playlist_weights.tolist() == [1.0]
    assert weights.hard_negatives == {}

"""Listener feedback as training signal.

``/feedback`` stores events ``{request_id, track_uri, event}`` (``feedback/``); ``/predict``
stores what it served for each request id (``served/``, :mod:`llara.served`): the model
version, the title, the seeds it resolved to catalog tracks and the seeds it did not know.
Joined on ``request_id``:

* clicks, likes and plays are positive interactions *for the request's seed context*: each
  request with at least one positive becomes a pseudo-playlist (its title, its resolved seeds,
  then its positive tracks) added to the **train** playlists only, never to validation or test.
  Its weight is the sum of its positive events' weights (``FeedbackConfig``: click 1, like 2,
  play 1 by default, capped by ``max_playlist_weight``); it scales how many training examples
  the LLaRA model draws from it, and the ALS matrix counts it like any playlist.
* skips are hard negatives for the same request: they join the softmax denominator of that
  pseudo-playlist's examples in the LLaRA loss with multiplicity ``skip_weight``.
* feedback whose ``request_id`` no served record knows is kept in the store but not used; it is
  counted (``unknown_request``) and logged to MLflow with the other counts. So are events for
  tracks outside the training catalog (``not_in_catalog``) and exact replays (``duplicates``).
"""
from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
import orjson

from llara.served import read_served
from llara.store import Store
from llara_training.config import FeedbackConfig
from llara_training.data import Catalog, TrainingData

log = logging.getLogger(__name__)

FEEDBACK_PREFIX = "feedback/"
POSITIVE_EVENTS = ("click", "like", "play")


@dataclass
class FeedbackSignal:
    """Pseudo-playlists from feedback, aligned lists (one entry per joined request)."""

    request_ids: list[str] = field(default_factory=list)
    titles: list[str] = field(default_factory=list)
    items: list[np.ndarray] = field(default_factory=list)  # seeds then positives (catalog idx)
    weights: list[float] = field(default_factory=list)
    negatives: list[np.ndarray] = field(default_factory=list)  # skipped tracks (catalog idx)
    counts: dict[str, int] = field(default_factory=dict)
    feedback_keys: list[str] = field(default_factory=list)  # the feedback objects read

    def __len__(self) -> int:
        return len(self.items)


def read_feedback(store: Store) -> tuple[list[dict], list[str]]:
    """Every stored feedback event, and the keys of the objects read."""
    keys = list(store.list(FEEDBACK_PREFIX))
    events = []
    for key in keys:
        events.extend(orjson.loads(line) for line in store.get_bytes(key).splitlines()
                      if line.strip())
    return events, keys


def build_signal(store: Store, catalog: Catalog,
                 config: FeedbackConfig = FeedbackConfig()) -> FeedbackSignal:
    """Join the store's feedback with the served requests, in ``catalog``'s indices."""
    events, keys = read_feedback(store)
    served = {r["request_id"]: r for r in read_served(store) if r.get("request_id")}
    weight_of = {"click": config.click_weight, "like": config.like_weight,
                 "play": config.play_weight}
    counts: dict[str, int] = defaultdict(int)
    counts["events"] = len(events)
    positives: dict[str, dict[int, float]] = defaultdict(dict)
    skips: dict[str, set[int]] = defaultdict(set)
    seen: set[tuple[str, str, str]] = set()
    for event in events:
        request_id, uri, kind = event.get("request_id"), event.get("track_uri"), event.get("event")
        counts[f"event.{kind}"] += 1
        if (request_id, uri, kind) in seen:
            counts["duplicates"] += 1
            continue
        seen.add((request_id, uri, kind))
        if request_id not in served:
            counts["unknown_request"] += 1
            continue
        index = catalog.index.get(uri)
        if index is None:
            counts["not_in_catalog"] += 1
            continue
        counts["joined"] += 1
        if kind in weight_of:
            positives[request_id][index] = positives[request_id].get(index, 0.0) + weight_of[kind]
        elif kind == "skip":
            skips[request_id].add(index)

    signal = FeedbackSignal(feedback_keys=keys)
    for request_id in sorted(positives):
        record = served[request_id]
        seeds = [catalog.index[u] for u in record.get("seed_uris", []) if u in catalog.index]
        counts["unknown_seed_texts"] += len(record.get("unknown_seeds", []))
        liked = [i for i in positives[request_id] if i not in seeds]
        if not liked:
            continue
        items = np.asarray(list(dict.fromkeys(seeds + liked)), dtype=np.int64)
        weight = min(config.max_playlist_weight, sum(positives[request_id].values()))
        negatives = np.asarray(sorted(skips[request_id] - set(items.tolist())), dtype=np.int64)
        signal.request_ids.append(request_id)
        signal.titles.append(record.get("title") or "")
        signal.items.append(items)
        signal.weights.append(float(weight))
        signal.negatives.append(negatives if config.skip_weight > 0 else negatives[:0])
        counts["pseudo_playlists"] += 1
        counts["positives"] += len(liked)
        counts["hard_negatives"] += len(signal.negatives[-1])
    counts["skips_without_positive"] = sum(len(v) for r, v in skips.items() if r not in positives)
    signal.counts = dict(counts)
    log.info("feedback signal: %s", signal.counts)
    return signal


@dataclass
class TrainWeights:
    """What the LLaRA training loop takes from feedback, aligned with ``data.train_items``."""

    playlist_weights: np.ndarray  # float [P]: 1 for MPD playlists
    hard_negatives: dict[int, np.ndarray]  # train row -> skipped catalog indices
    hard_negative_weight: float


def add_to_training(data: TrainingData, signal: FeedbackSignal,
                    config: FeedbackConfig = FeedbackConfig()) -> TrainWeights:
    """Append the pseudo-playlists to ``data``'s train playlists (in place) with synthetic
    negative pids, so they can never collide with an MPD pid or reach a validation/test case."""
    first = len(data.train_items)
    data.train_pids = np.concatenate([np.asarray(data.train_pids, dtype=np.int64),
                                      -np.arange(1, len(signal) + 1, dtype=np.int64)])
    data.train_titles = list(data.train_titles) + signal.titles
    data.train_items = list(data.train_items) + signal.items
    weights = np.ones(len(data.train_items), dtype=np.float64)
    weights[first:] = signal.weights
    negatives = {first + i: n for i, n in enumerate(signal.negatives) if len(n)}
    return TrainWeights(weights, negatives, config.skip_weight)


def feedback_for_training(store: Store, data: TrainingData,
                          config: FeedbackConfig = FeedbackConfig()
                          ) -> tuple[TrainWeights | None, FeedbackSignal]:
    """The pipeline's one call: build the signal and add it to ``data`` (when enabled)."""
    signal = build_signal(store, data.catalog, config)
    if not config.enabled or not len(signal):
        return None, signal
    return add_to_training(data, signal, config), signal

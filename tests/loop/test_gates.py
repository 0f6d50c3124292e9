"""Promotion gates and the lock, on their own: the statistics, tolerances and races."""
from __future__ import annotations

import threading

import orjson
import pytest

from llara_training.promotion import (
    LockBusy,
    LockLost,
    PromotionLock,
    PromotionSettings,
    offline_gate,
    one_sided_z,
    online_gate,
    online_stats,
)


def _stats(requests, positive, events, skips):
    return {"requests": requests, "positive_requests": positive, "events": events,
            "skips": skips, "ctr": positive / requests, "skip_rate": skips / events}


SETTINGS = PromotionSettings(min_requests=100, min_events=50, alpha=0.05, tracking=False)


def test_z_test_matches_the_textbook_figure():
    # 45/100 vs 60/100: pooled p = .525, se = .0706, z = -2.124, P(Z <= z) = .0168
    z, p = one_sided_z(45, 100, 60, 100)
    assert z == pytest.approx(-2.124, abs=1e-3)
    assert p == pytest.approx(0.0168, abs=1e-3)


def test_online_gate_holds_without_enough_evidence():
    action, reason, _ = online_gate(_stats(99, 60, 80, 10), _stats(500, 100, 300, 150),
                                    SETTINGS)
    assert action == "hold" and "canary has 99 requests" in reason


def test_online_gate_promotes_a_better_or_equal_canary():
    assert online_gate(_stats(200, 90, 120, 20), _stats(200, 60, 120, 50), SETTINGS)[0] \
        == "promote"
    assert online_gate(_stats(200, 60, 120, 30), _stats(200, 62, 120, 29), SETTINGS)[0] \
        == "promote"  # a hair worse is noise, not evidence


def test_online_gate_rolls_back_a_significantly_worse_canary():
    action, reason, tests = online_gate(_stats(300, 60, 150, 40), _stats(300, 120, 150, 40),
                                        SETTINGS)
    assert action == "rollback" and "CTR 0.200 vs 0.400" in reason
    assert tests["p_ctr_lower"] < 0.05
    # same CTR, many more skips
    action, _, tests = online_gate(_stats(300, 100, 150, 90), _stats(300, 100, 150, 40),
                                   SETTINGS)
    assert action == "rollback" and tests["p_skip_higher"] < 0.05


def test_offline_gate_tolerance_and_direction():
    settings = PromotionSettings(offline_metrics=["ndcg", "clicks"], offline_tolerance=0.05,
                                 tracking=False)
    production = {"ndcg": 0.20, "clicks": 4.0}
    assert offline_gate({"ndcg": 0.191, "clicks": 4.1}, production, settings)[0]
    ok, reason = offline_gate({"ndcg": 0.18, "clicks": 4.0}, production, settings)
    assert not ok and "ndcg 0.1800 vs production 0.2000" in reason
    ok, reason = offline_gate({"ndcg": 0.25, "clicks": 4.5}, production, settings)
    assert not ok and "clicks" in reason  # clicks: lower is better
    assert not offline_gate({"ndcg": 0.3}, production, settings)[0]  # a metric missing


def test_online_stats_join_feedback_to_versions_since_the_canary_moved(store):
    served = [{"request_id": "old", "model_version": "c", "served_at": "2026-01-01T00:00:00+00:00"}]
    served += [{"request_id": f"c{i}", "model_version": "c",
                "served_at": "2026-02-01T00:00:00+00:00"} for i in range(4)]
    served += [{"request_id": f"p{i}", "model_version": "p",
                "served_at": "2026-02-01T00:00:00+00:00"} for i in range(2)]
    store.put_bytes("served/date=2026-02-01/a.jsonl",
                    b"\n".join(orjson.dumps(r) for r in served) + b"\n")
    events = [("c0", "click"), ("c0", "like"), ("c0", "click"), ("c1", "skip"),
              ("p0", "play"), ("p1", "skip"), ("old", "click"), ("nobody", "click")]
    store.put_bytes("feedback/date=2026-02-01/a.jsonl", b"".join(
        orjson.dumps({"request_id": r, "track_uri": "spotify:track:x", "event": e}) + b"\n"
        for r, e in events))
    stats = online_stats(store, ["c", "p"], since="2026-01-15T00:00:00Z")
    # c: 4 requests, one with positives; the replayed click counts once; 'old' is too early
    assert stats["c"] == {"requests": 4, "positive_requests": 1, "events": 3, "skips": 1,
                          "ctr": 0.25, "skip_rate": pytest.approx(1 / 3)}
    assert stats["p"]["requests"] == 2 and stats["p"]["ctr"] == 0.5
    assert stats["p"]["skip_rate"] == 0.5


def test_the_lock_admits_one_holder(store):
    wins, busy = [], []

    def take():
        lock = PromotionLock(store, ttl_seconds=60)
        try:
            lock.acquire()
            wins.append(lock)
        except LockBusy:
            busy.append(1)

    threads = [threading.Thread(target=take) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(wins) == 1 and len(busy) == 5
    wins[0].check()
    wins[0].release()
    again = PromotionLock(store, ttl_seconds=60)
    again.acquire()  # released: the next epoch is free
    assert again.epoch == 2


def test_a_stale_lock_is_taken_over_and_its_holder_finds_out(store):
    now = [1000.0]
    stale = PromotionLock(store, ttl_seconds=60, clock=lambda: now[0])
    stale.acquire()
    with pytest.raises(LockBusy):
        PromotionLock(store, ttl_seconds=60, clock=lambda: now[0] + 30).acquire()
    fresh = PromotionLock(store, ttl_seconds=60, clock=lambda: now[0] + 61)
    fresh.acquire()
    with pytest.raises(LockLost):
        stale.check()  # it must not move any pointer now
    fresh.check()

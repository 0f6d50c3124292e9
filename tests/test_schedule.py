"""The scheduled training decision and its once-only launch claim."""
from __future__ import annotations

import json
import threading

from llara.schedule import (
    Snapshot,
    current_snapshot,
    decide,
    decide_and_launch,
    record_training_snapshot,
)


def _decide(store, slices=1, feedback=3):
    return decide(store, min_new_slices=slices, min_new_feedback=feedback)[0]


def test_no_data_no_training(store):
    d = _decide(store)
    assert not d.train and "no processed data" in d.reason


def test_first_run_trains_then_waits_for_new_data(store):
    store.put_bytes("processed/playlists/a.parquet", b"x")
    assert _decide(store).train
    record_training_snapshot(store, Snapshot(run_id="r1", **_snap(store)))
    d = _decide(store)
    assert not d.train and d.new_sources == 0 and "not enough new data" in d.reason
    store.put_bytes("processed/playlists/b.parquet", b"y")
    d = _decide(store)
    assert d.train and d.new_sources == 1


def test_feedback_threshold(store):
    store.put_bytes("processed/playlists/a.parquet", b"x")
    record_training_snapshot(store, Snapshot(run_id="r1", **_snap(store)))
    for i in range(2):
        store.put_bytes(f"feedback/date=2026-12-04/{i}.jsonl", b"{}")
    assert not _decide(store, slices=0).train
    store.put_bytes("feedback/date=2026-12-04/2.jsonl", b"{}")
    d = _decide(store, slices=0)
    assert d.train and d.new_feedback == 3


def test_concurrent_passes_launch_once(tmp_path, monkeypatch):
    from llara.config import get_settings
    from llara.store import open_store

    monkeypatch.setenv("LLARA_TRAIN_LAUNCHER", "none")
    get_settings.cache_clear()
    store = open_store(str(tmp_path / "s"))
    store.put_bytes("processed/playlists/a.parquet", b"x")
    decisions = []
    threads = [threading.Thread(target=lambda: decisions.append(decide_and_launch(store)))
               for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(d.train for d in decisions) == 1
    assert sum("already launched" in d.reason for d in decisions) == 5
    records = [k for k in store.list("state/schedule/") if "/claims/" not in k]
    assert len(records) == 6
    assert all("reason" in json.loads(store.get_bytes(k)) for k in records)


def _snap(store):
    s = current_snapshot(store)
    return {"sources": s.sources, "feedback": s.feedback}

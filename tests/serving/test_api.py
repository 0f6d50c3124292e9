"""The handlers through the router: predict, feedback, health, auth, canary, hot reload, logs."""
from __future__ import annotations

import json
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import orjson
import pytest

from llara.bundle import publish, set_alias
from llara.feedback import FeedbackLog
from llara.schemas import PredictResponse
from llara.web import Request

from .helpers import variant


def call(service, method, path, body=None, headers=None):
    if isinstance(body, bytes):
        raw = body
    else:
        raw = b"" if body is None else orjson.dumps(body)
    response = service.handle(Request(method, path, headers or {}, raw))
    return response.status, response.body


def test_predict_resolves_seeds_and_never_returns_them(make_service, catalog):
    uris, names, artists = catalog
    service = make_service()
    status, body = call(service, "POST", "/predict", {
        "playlist_name": "late night drive", "k": 50, "tracks": [
            {"track_uri": uris[0]},
            {"track_name": names[1].upper() + " - Remastered 2014", "artist_name": artists[1]},
            {"track_name": names[2][:-1], "artist_name": artists[2]},  # a typo
            {"track_name": "A Song Nobody Has", "artist_name": "Brand New Band"},
            {"track_uri": "spotify:track:" + "Z" * 22}]})
    assert status == 200, body
    PredictResponse.model_validate(body)  # the documented response schema
    assert [s["match"] for s in body["seeds"]] == ["uri", "exact", "fuzzy", "unknown",
                                                   "unmatched"]
    assert [s["track_uri"] for s in body["seeds"][:3]] == uris[:3]
    recommended = [t["track_uri"] for t in body["recommended_tracks"]]
    assert len(recommended) == len(set(recommended)) == 50
    assert not set(uris[:3]) & set(recommended)
    scores = [t["score"] for t in body["recommended_tracks"]]
    assert scores == sorted(scores, reverse=True)
    assert body["model_version"] == service.production.get().version
    assert len(body["request_id"]) == 32
    first = body["recommended_tracks"][0]
    row = uris.index(first["track_uri"])
    assert (first["track_name"], first["artist_name"]) == (names[row], artists[row])


def test_title_only_and_cold_only_requests_work(make_service):
    service = make_service()
    status, body = call(service, "POST", "/predict", {"playlist_name": "gym"})
    assert status == 200 and len(body["recommended_tracks"]) == 10
    status, body = call(service, "POST", "/predict", {"tracks": [
        {"track_name": "Unheard", "artist_name": "Nobody"}], "k": 3})
    assert status == 200 and len(body["recommended_tracks"]) == 3
    assert body["seeds"] == [{"match": "unknown", "track_uri": None, "similarity": None}]


def test_different_inputs_give_different_recommendations(make_service, catalog):
    uris, _, _ = catalog
    service = make_service()
    a = call(service, "POST", "/predict", {"tracks": [{"track_uri": uris[10]}], "k": 20})[1]
    b = call(service, "POST", "/predict", {"tracks": [{"track_uri": uris[20]}], "k": 20})[1]
    assert a["recommended_tracks"] != b["recommended_tracks"]


def test_nothing_to_go_on_is_422(make_service):
    service = make_service()
    status, body = call(service, "POST", "/predict", {})
    assert status == 422 and "playlist_name" in body["error"]
    status, body = call(service, "POST", "/predict",
                        {"tracks": [{"track_uri": "spotify:track:" + "Q" * 22}]})
    assert status == 422 and "none of the tracks" in body["error"]


def test_health(make_service, catalog):
    status, body = call(make_service(), "GET", "/health")
    assert status == 200
    assert body["status"] == "ok" and body["catalog_size"] == len(catalog[0])
    assert body["uptime_s"] >= 0 and body["model_version"]
    assert call(make_service(), "POST", "/health")[0] == 405
    assert call(make_service(), "GET", "/nope")[0] == 404


def test_no_bundle_is_503_not_a_crash(make_service, tmp_path):
    from llara.store import open_store

    service = make_service(store=open_store(str(tmp_path / "empty")))
    status, body = call(service, "POST", "/predict", {"playlist_name": "x"})
    assert status == 503 and "llara publish" in body["error"]


def test_api_key(make_service):
    service = make_service(api_key="s3cret")
    body = {"playlist_name": "x"}
    assert call(service, "POST", "/predict", body)[0] == 403
    assert call(service, "POST", "/predict", body, {"x-api-key": "wrong"})[0] == 403
    assert call(service, "POST", "/predict", body, {"X-Api-Key": "s3cret"})[0] == 200
    event = {"request_id": "r", "track_uri": "spotify:track:" + "a" * 22, "event": "like"}
    assert call(service, "POST", "/feedback", event)[0] == 403
    assert call(service, "GET", "/health")[0] == 200  # health stays open for probes


@pytest.fixture
def two_versions(bundle_dir, tmp_path):
    from llara.store import open_store

    store = open_store(str(tmp_path / "store"))
    v1 = publish(store, bundle_dir, alias="production")["version"]
    v2 = publish(store, variant(bundle_dir, tmp_path / "v2", "2031-01-01T00:00:00Z"))["version"]
    return store, v1, v2


def test_canary_share(make_service, two_versions, tmp_path):
    store, v1, v2 = two_versions
    set_alias(store, "canary", v2)
    service = make_service(store=store, rng=random.Random(7), canary_percent=25,
                           bundle_cache=tmp_path / "cache")
    served = [call(service, "POST", "/predict", {"playlist_name": "x", "k": 1})[1]
              ["model_version"] for _ in range(400)]
    assert set(served) == {v1, v2}
    assert 70 <= served.count(v2) <= 130  # 25% of 400, binomial sd ~8.7
    assert call(service, "GET", "/health")[1]["canary_version"] == v2
    # Without a canary alias everything goes to production.
    alone = make_service(store=store, canary_percent=0, bundle_cache=tmp_path / "cache")
    assert {call(alone, "POST", "/predict", {"playlist_name": "x"})[1]["model_version"]
            for _ in range(20)} == {v1}


def test_hot_reload_under_load_has_no_failed_request(make_service, two_versions, tmp_path):
    store, v1, v2 = two_versions
    service = make_service(store=store, reload_seconds=0.05, bundle_cache=tmp_path / "cache")
    assert call(service, "GET", "/health")[1]["model_version"] == v1
    seen: list[tuple[int, str | None]] = []
    stop = threading.Event()

    def client():
        while not stop.is_set():
            status, body = call(service, "POST", "/predict", {"playlist_name": "road", "k": 5})
            seen.append((status, body.get("model_version")))

    threads = [threading.Thread(target=client) for _ in range(6)]
    for t in threads:
        t.start()
    time.sleep(0.3)
    set_alias(store, "production", v2)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and (not seen or seen[-1][1] != v2):
        time.sleep(0.05)
    time.sleep(0.3)
    stop.set()
    for t in threads:
        t.join()
    assert {s for s, _ in seen} == {200}, "a request failed during the swap"
    versions = [v for _, v in seen]
    assert versions[0] == v1 and versions[-1] == v2
    switch = versions.index(v2)
    assert versions[switch:].count(v1) <= len(threads)  # only requests already in flight


def test_broken_new_bundle_keeps_the_old_one(make_service, two_versions, tmp_path):
    store, v1, v2 = two_versions
    service = make_service(store=store, reload_seconds=0, bundle_cache=tmp_path / "cache")
    assert call(service, "GET", "/health")[1]["model_version"] == v1
    store.put_bytes(f"models/{v2}/query.onnx", b"garbage")
    set_alias(store, "production", v2)
    service.production.check_now()
    assert "does not match" in service.production.last_error
    assert call(service, "POST", "/predict", {"playlist_name": "x"})[1]["model_version"] == v1


def test_feedback_is_appended_and_never_lost(make_service, store, catalog):
    uris, _, _ = catalog
    service = make_service(store=store)
    events = [{"request_id": f"req-{i}", "track_uri": uris[i % 50],
               "event": ["click", "skip", "like", "play"][i % 4]} for i in range(120)]
    events[0]["ts"] = "2026-12-04T10:00:00+00:00"
    with ThreadPoolExecutor(12) as pool:
        results = list(pool.map(lambda e: call(service, "POST", "/feedback", e), events))
    assert {s for s, _ in results} == {202}
    keys = {b["key"] for _, b in results}
    assert len(keys) == 120 and all(k.startswith("feedback/date=") for k in keys)
    date = next(iter(keys)).split("date=")[1][:10]
    stored = FeedbackLog(store).read(date)
    assert sorted(e["request_id"] for e in stored) == sorted(e["request_id"] for e in events)
    first = next(e for e in stored if e["request_id"] == "req-0")
    assert first["ts"] == "2026-12-04T10:00:00Z" and first["event"] == "click"
    assert first["received_at"]


@pytest.mark.parametrize("body", [
    {"request_id": "r", "track_uri": "spotify:track:" + "a" * 22, "event": "dance"},
    {"request_id": "", "track_uri": "spotify:track:" + "a" * 22, "event": "like"},
    {"request_id": "r", "track_uri": "nope", "event": "like"},
    {"request_id": "r", "track_uri": "spotify:track:" + "a" * 22, "event": "like", "x": 1},
    {"request_id": "r", "track_uri": "spotify:track:" + "a" * 22, "event": "like",
     "ts": "yesterday"},
])
def test_invalid_feedback_is_422(make_service, body):
    status, response = call(make_service(), "POST", "/feedback", body)
    assert status == 422 and response["error"].startswith("invalid FeedbackEvent")


def test_one_structured_log_line_per_request(make_service, catalog):
    import logging

    class Collect(logging.Handler):
        def __init__(self):
            super().__init__()
            self.lines = []

        def emit(self, record):
            self.lines.append(json.loads(record.getMessage()))

    service = make_service()
    collect = Collect()
    logging.getLogger("llara.request").addHandler(collect)
    try:
        call(service, "POST", "/predict", {"playlist_name": "x", "tracks": [
            {"track_uri": catalog[0][0]}, {"track_name": "Unheard", "artist_name": "Nobody"}]})
        call(service, "POST", "/predict", b"{not json")
    finally:
        logging.getLogger("llara.request").removeHandler(collect)
    assert len(collect.lines) == 2
    ok, bad = collect.lines
    assert ok["status"] == 200 and ok["path"] == "/predict" and ok["latency_ms"] > 0
    assert (ok["seeds"], ok["resolved"], ok["fuzzy"], ok["unknown"]) == (2, 1, 0, 1)
    assert ok["model_version"] and ok["request_id"]
    assert bad["status"] == 400 and "JSON" in bad["error"]

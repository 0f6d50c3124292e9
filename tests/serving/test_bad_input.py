"""Bad input gets a 4xx JSON error naming the problem, never a 5xx or a traceback."""
from __future__ import annotations

import json
import threading
from http.client import HTTPConnection

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from llara.web import Request

URI = "spotify:track:" + "a" * 22
TRACK = {"track_name": "Song", "artist_name": "Band"}


@pytest.fixture(scope="module")
def service(exported):
    from llara.api import Service
    from llara.config import Settings

    return Service(Settings(bundle=exported[0].bundle))


@pytest.mark.parametrize(("path", "body", "status", "names"), [
    ("/predict", b"{", 400, "JSON"),
    ("/predict", b"", 400, "empty"),
    ("/predict", b"\xff\xfe\x00{}", 400, "UTF-8"),
    ("/predict", b'{"playlist_name": "\xed\xa0\x80"}', 400, "UTF-8"),  # a lone surrogate
    ("/predict", b"x" * (1024 * 1024), 413, "limit"),
    ("/predict", [1, 2], 422, "dictionary"),
    ("/predict", "just a string", 422, "dictionary"),
    ("/predict", {"tracks": "Toxic"}, 422, "tracks"),
    ("/predict", {"tracks": [TRACK] * 10_000}, 413, "limit"),
    ("/predict", {"tracks": [{"track_uri": URI}] * 501}, 422, "tracks"),
    ("/predict", {"tracks": [TRACK], "k": 0}, 422, "k"),
    ("/predict", {"tracks": [TRACK], "k": -5}, 422, "k"),
    ("/predict", {"tracks": [TRACK], "k": 501}, 422, "k"),
    ("/predict", {"tracks": [TRACK], "k": 10**12}, 422, "k"),
    ("/predict", {"tracks": [TRACK], "k": "10"}, 422, "k"),
    ("/predict", {"tracks": [TRACK], "k": 2.5}, 422, "k"),
    ("/predict", {"tracks": [TRACK], "k": True}, 422, "k"),
    ("/predict", {"tracks": [TRACK], "k": None}, 422, "k"),
    ("/predict", {"tracks": [TRACK], "limit": 5}, 422, "limit"),
    ("/predict", {"playlist_name": ""}, 422, "playlist_name"),
    ("/predict", {"playlist_name": "   "}, 422, "playlist_name"),
    ("/predict", {"playlist_name": 42}, 422, "playlist_name"),
    ("/predict", {"playlist_name": "x" * 1001}, 422, "playlist_name"),
    ("/predict", {"tracks": [{"track_name": "", "artist_name": "Band"}]}, 422, "track_name"),
    ("/predict", {"tracks": [{"track_name": "Song"}]}, 422, "artist_name"),
    ("/predict", {"tracks": [{"track_uri": "spotify:album:xyz"}]}, 422, "track_uri"),
    ("/predict", {"tracks": [{"track_uri": URI, "bpm": 120}]}, 422, "bpm"),
    ("/predict", {"tracks": [None]}, 422, "tracks.0"),
    ("/predict", {}, 422, "playlist_name"),
    ("/predict", {"tracks": []}, 422, "playlist_name"),
    ("/feedback", {"request_id": "r", "track_uri": URI, "event": "LIKE"}, 422, "event"),
    ("/feedback", {"request_id": "r", "track_uri": URI}, 422, "event"),
    ("/feedback", {"request_id": 5, "track_uri": URI, "event": "like"}, 422, "request_id"),
    ("/feedback", {"request_id": "r", "track_uri": URI, "event": "like", "ts": "2026-01-01"},
     422, "ts"),
    ("/feedback", b"[" * 5000, 400, "JSON"),  # deeper than any parser should follow
])
def test_bad_input_is_a_named_4xx(service, path, body, status, names):
    raw = body if isinstance(body, bytes) else orjson.dumps(body)
    response = service.handle(Request("POST", path, {}, raw))
    assert response.status == status, response.body
    assert names in response.body["error"]
    assert "Traceback" not in response.body["error"]


def _json_values():
    scalars = (st.none() | st.booleans() | st.integers(-(2**70), 2**70)
               | st.floats(allow_nan=False) | st.text(max_size=30))
    return st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                        | st.dictionaries(st.text(max_size=12), inner, max_size=4), max_leaves=12)


def _seed_tracks():
    field = st.sampled_from(["track_uri", "track_name", "artist_name", "album_name", "extra"])
    value = (st.text(max_size=40) | st.just(URI) | st.integers() | st.none()
             | st.sampled_from(["Toxic", "Britney Spears", "  ", "Déjà Vu - Remastered 2014"]))
    return st.dictionaries(field, value, max_size=4) | _json_values()


def _predict_bodies():
    body = st.fixed_dictionaries({}, optional={
        "tracks": st.lists(_seed_tracks(), max_size=6) | _json_values(),
        "playlist_name": st.text(max_size=40) | _json_values(),
        "k": st.integers(-10, 1000) | _json_values(),
    })
    extra = st.dictionaries(st.text(max_size=8), _json_values(), max_size=2)
    return st.builds(lambda b, e: {**e, **b}, body, extra | st.just({}))


def _feedback_bodies():
    return st.fixed_dictionaries({}, optional={
        "request_id": st.text(max_size=20) | _json_values(),
        "track_uri": st.just(URI) | st.text(max_size=30),
        "event": st.sampled_from(["click", "skip", "like", "play", "x"]) | _json_values(),
        "ts": st.just("2026-12-04T10:00:00Z") | st.text(max_size=25) | st.integers(),
    })


def _encode(value) -> bytes:
    """JSON as a careless client writes it: big ints, Infinity and lone surrogates included."""
    return json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass")


def _raw_bodies():
    encoded = (_predict_bodies() | _feedback_bodies() | _json_values()).map(_encode)
    return st.tuples(st.sampled_from(["/predict", "/feedback"]),
                     encoded | st.binary(max_size=200))


@settings(max_examples=2000, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                 HealthCheck.function_scoped_fixture])
@given(case=_raw_bodies())
def test_generated_bodies_never_5xx(service, case):
    path, raw = case
    response = service.handle(Request("POST", path, {}, raw))
    assert response.status < 500, (raw, response.body)
    assert isinstance(response.body, dict)
    if response.status >= 400:
        assert response.body["error"]
    elif path == "/predict":
        assert response.status == 200 and response.body["recommended_tracks"]


@settings(max_examples=2000, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(body=_predict_bodies())
def test_generated_predict_bodies_never_5xx(service, body):
    response = service.handle(Request("POST", "/predict", {}, _encode(body)))
    assert response.status in (200, 400, 422), (body, response.body)


def test_generated_bodies_over_real_http(service):
    from llara.server import make_server

    server = make_server(service, "127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    conn = HTTPConnection("127.0.0.1", server.server_address[1], timeout=30)
    statuses = []

    @settings(max_examples=60, deadline=None, derandomize=True)
    @given(case=_raw_bodies())
    def send(case):
        path, raw = case
        conn.request("POST", path, body=raw, headers={"content-type": "application/json"})
        response = conn.getresponse()
        payload = json.loads(response.read())
        statuses.append(response.status)
        assert response.status < 500, (raw, payload)

    try:
        send()
    finally:
        conn.close()
        server.shutdown()
        server.server_close()
    assert len(statuses) >= 60 and any(s == 200 for s in statuses) and any(s >= 400 for s in statuses)

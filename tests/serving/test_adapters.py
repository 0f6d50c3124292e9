"""The same handlers through every adapter: Chalice, OpenWhisk web actions, real HTTP."""
from __future__ import annotations

import base64
from http.client import HTTPConnection
import importlib.util
import json
import threading
from pathlib import Path

import orjson
import pytest
from chalice.test import Client

ROOT = Path(__file__).resolve().parents[2]


def _load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def served_from_bundle(bundle_dir, tmp_path, monkeypatch):
    """Environment-configured serving (as a deployed function sees it), fresh singleton."""
    from llara import api
    from llara.config import get_settings

    monkeypatch.setenv("LLARA_BUNDLE", str(bundle_dir))
    monkeypatch.setenv("LLARA_STORE", str(tmp_path / "store"))
    monkeypatch.setenv("LLARA_API_KEY", "k3y")
    get_settings.cache_clear()
    monkeypatch.setattr(api, "_service", None)
    yield tmp_path / "store"
    get_settings.cache_clear()


def test_chalice_routes(served_from_bundle, catalog):
    app = _load("llara_chalice_app", ROOT / "functions" / "app.py")
    json_headers = {"content-type": "application/json", "x-api-key": "k3y"}
    with Client(app.app) as client:
        response = client.http.post("/predict", headers=json_headers, body=orjson.dumps(
            {"playlist_name": "chill", "tracks": [{"track_uri": catalog[0][0]}], "k": 7}))
        assert response.status_code == 200, response.body
        body = json.loads(response.body)
        assert len(body["recommended_tracks"]) == 7 and body["seeds"][0]["match"] == "uri"
        response = client.http.post("/feedback", headers=json_headers, body=orjson.dumps(
            {"request_id": body["request_id"], "track_uri": catalog[0][1], "event": "like"}))
        assert response.status_code == 202
        assert client.http.get("/health").status_code == 200
        assert client.http.post("/predict", headers={"content-type": "application/json"},
                                body=b'{"playlist_name": "x"}').status_code == 403
        response = client.http.post("/predict", headers=json_headers, body=b"\xff\xfe{")
        assert response.status_code == 400 and "UTF-8" in json.loads(response.body)["error"]
        response = client.http.post("/predict", headers=json_headers, body=b'{"k": -1}')
        assert response.status_code == 422


def _ow(action: str, method: str, body=None, headers=None, raw: bool = False):
    module = _load(f"ow_{action}", ROOT / "openwhisk" / "actions" / f"{action}.py")
    args = {"__ow_method": method, "__ow_headers": headers or {}, "__ow_path": ""}
    if body is not None:
        args["__ow_body"] = body
    result = module.main(args)
    return result["statusCode"], json.loads(result["body"]), result["headers"]


def test_openwhisk_actions(served_from_bundle, catalog):
    auth = {"content-type": "application/json", "x-api-key": "k3y"}
    status, body, headers = _ow("predict", "post", json.dumps(
        {"tracks": [{"track_name": "Unheard", "artist_name": "Nobody"}], "k": 4}), auth)
    assert status == 200 and len(body["recommended_tracks"]) == 4
    assert headers["Content-Type"] == "application/json"
    # raw web actions base64-encode bodies of non-text content types
    encoded = base64.b64encode(b'{"playlist_name": "focus", "k": 2}').decode()
    status, body, _ = _ow("predict", "post", encoded,
                          {"content-type": "application/octet-stream", "x-api-key": "k3y"})
    assert status == 200 and len(body["recommended_tracks"]) == 2
    status, body, _ = _ow("feedback", "post", json.dumps(
        {"request_id": "r1", "track_uri": catalog[0][0], "event": "skip"}), auth)
    assert status == 202 and body["key"].startswith("feedback/date=")
    status, body, _ = _ow("health", "get")
    assert status == 200 and body["catalog_size"] == len(catalog[0])
    assert _ow("predict", "get", None, auth)[0] == 405
    assert _ow("predict", "post", "[", auth)[0] == 400
    assert _ow("predict", "post", json.dumps({"playlist_name": "x"}))[0] == 403


@pytest.fixture
def http_server(make_service):
    from llara.server import make_server

    server = make_server(make_service(), "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def fetch(port: int, method: str, path: str, body: bytes | None = None,
         headers: dict | None = None):
    conn = HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, json.loads(response.read() or b"null")
    finally:
        conn.close()


def test_real_http(http_server, catalog):
    port = http_server
    status, body = fetch(port, "POST", "/predict", orjson.dumps(
        {"playlist_name": "x", "tracks": [{"track_uri": catalog[0][5]}], "k": 500}),
        {"content-type": "application/json"})
    assert status == 200 and len(body["recommended_tracks"]) == 500
    assert catalog[0][5] not in {t["track_uri"] for t in body["recommended_tracks"]}
    assert fetch(port, "GET", "/health")[0] == 200
    status, body = fetch(port, "POST", "/predict", b"x" * (1024 * 1024))  # a 1 MB body
    assert status == 413 and "limit" in body["error"]
    status, body = fetch(port, "POST", "/predict", b"\xc3\x28")
    assert status == 400
    status, _ = fetch(port, "POST", "/feedback", b'{"event": "like"}')
    assert status == 422


def test_real_http_keeps_connections_alive(http_server):
    conn = HTTPConnection("127.0.0.1", http_server, timeout=30)
    for _ in range(5):
        conn.request("POST", "/predict", body=b'{"playlist_name": "x", "k": 1}')
        response = conn.getresponse()
        assert response.status == 200 and json.loads(response.read())["recommended_tracks"]
    conn.close()

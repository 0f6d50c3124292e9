"""The function adapters call the same handler: Chalice's S3 event source and the OpenWhisk
action (web action and direct invocation)."""
from __future__ import annotations

import base64
import importlib.util
from pathlib import Path

import orjson
import pytest
from chalice.test import Client

from llara.processed import store_status
from llara.store import open_store

ROOT = Path(__file__).resolve().parents[2]


def _load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def configured(tmp_path, monkeypatch):
    from llara.config import get_settings

    monkeypatch.setenv("LLARA_STORE", str(tmp_path / "store"))
    monkeypatch.setenv("LLARA_WEBHOOK_TOKEN", "tok")  # noqa: S105 - test-only
    get_settings.cache_clear()
    return open_store(str(tmp_path / "store"))


def test_chalice_s3_event_source_runs_the_etl(configured, small_slice, monkeypatch):
    monkeypatch.setenv("LLARA_STORE", "s3://raw-bucket/team")  # read at deploy time only
    app = _load("llara_functions_app_s3", ROOT / "functions" / "app.py")
    (source,) = [s for s in app.app.event_sources if s.name == "on_raw_object"]
    assert (source.bucket, source.events, source.prefix) == (
        "raw-bucket", ["s3:ObjectCreated:*"], "team/raw/")
    monkeypatch.setenv("LLARA_STORE", configured.url.removeprefix("file://"))
    configured.put_bytes("raw/mpd.slice.0-999.json", orjson.dumps(small_slice))
    with Client(app.app) as client:
        event = client.events.generate_s3_event(bucket="raw-bucket",
                                                key="raw/mpd.slice.0-999.json")
        client.lambda_.invoke("on_raw_object", event)
    assert store_status(configured)["playlists"] == 30


def test_openwhisk_web_action_and_direct_invocation(configured, small_slice):
    action = _load("llara_ow_etl", ROOT / "openwhisk" / "actions" / "etl.py")
    configured.put_bytes("raw/a.json", orjson.dumps(small_slice))
    event = {"EventName": "s3:ObjectCreated:Put", "Key": "llara/raw/a.json"}
    body = orjson.dumps(event).decode()

    denied = action.main({"__ow_method": "post", "__ow_headers": {
        "content-type": "application/json"}, "__ow_body": body})
    assert denied["statusCode"] == 401

    ok = action.main({"__ow_method": "post", "__ow_path": "", "__ow_headers": {
        "content-type": "application/octet-stream", "authorization": "Bearer tok"},
        "__ow_body": base64.b64encode(body.encode()).decode()})
    assert ok["statusCode"] == 200
    assert orjson.loads(ok["body"])["processed"][0]["playlists_ok"] == 30

    direct = action.main({"Records": [{"eventName": "ObjectRemoved:Delete", "s3": {
        "bucket": {"name": "llara"}, "object": {"key": "raw/a.json"}}}]})
    assert direct["processed"] == [] and direct["ignored"][0]["reason"].startswith("ObjectRemoved")
    assert action.main({"nonsense": 1})["error"].startswith("unrecognised event")

"""Delivery over the wire: a real S3 server's bucket notification through an SQS queue, and a
MinIO-format webhook POSTed over HTTP to the running Chalice function."""
from __future__ import annotations

import copy
import importlib.util
import threading
from pathlib import Path

import boto3
import orjson
import pytest
import requests

from llara.etl import drain_queue
from llara.processed import read_quarantine, store_status
from llara.store import open_store

ROOT = Path(__file__).resolve().parents[2]


def test_bucket_notification_through_sqs_is_drained_into_the_handler(s3_bucket, s3_env,
                                                                     small_slice):
    s3 = boto3.client("s3", endpoint_url=s3_env)
    sqs = boto3.client("sqs", endpoint_url=s3_env)
    queue = sqs.create_queue(QueueName=f"{s3_bucket}-raw")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue,
                                   AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    s3.put_bucket_notification_configuration(Bucket=s3_bucket, NotificationConfiguration={
        "QueueConfigurations": [{"QueueArn": arn, "Events": ["s3:ObjectCreated:*"],
                                 "Filter": {"Key": {"FilterRules": [
                                     {"Name": "prefix", "Value": "raw/"}]}}}]})
    store = open_store(f"s3://{s3_bucket}")
    other = copy.deepcopy(small_slice)
    for p in other["playlists"]:
        p["pid"] += 100
    # Plain S3 uploads, as any client (or MinIO's mc) would do them; the server notifies.
    s3.put_object(Bucket=s3_bucket, Key="raw/2024 05/mpd.slice.0-999.json",
                  Body=orjson.dumps(small_slice))
    s3.put_object(Bucket=s3_bucket, Key="raw/mpd.slice.100-1099.json", Body=orjson.dumps(other))
    s3.put_object(Bucket=s3_bucket, Key="raw/broken.json", Body=b"{\"playlists\": [")
    outcomes = list(drain_queue(queue, store, sqs=sqs, wait_seconds=0, max_empty_polls=2))
    processed = {r["source"]: r for o in outcomes for r in o["processed"]}
    assert processed["2024 05__mpd.slice.0-999.json"]["playlists_ok"] == 30
    assert processed["mpd.slice.100-1099.json"]["playlists_ok"] == 30
    assert processed["broken.json"]["status"] == "unreadable"
    assert any(i["reason"] == "s3:TestEvent acknowledged" for o in outcomes for i in o["ignored"])
    status = store_status(store)
    assert (status["slices"], status["playlists"], status["quarantined_files"]) == (2, 60, 1)
    assert "truncated" in read_quarantine(store)["broken.json"][0]["reason"]
    # Every message was acknowledged: the queue is empty.
    assert sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=0).get("Messages") is None


@pytest.fixture
def chalice_server(tmp_path, monkeypatch):
    """functions/app.py served by Chalice's local HTTP server on a free port."""
    from chalice.config import Config
    from chalice.local import LocalDevServer

    from llara.config import get_settings

    monkeypatch.setenv("LLARA_STORE", str(tmp_path / "store"))
    monkeypatch.setenv("LLARA_WEBHOOK_TOKEN", "test-token")  # noqa: S105 - test-only
    get_settings.cache_clear()
    spec = importlib.util.spec_from_file_location("llara_functions_app",
                                                  ROOT / "functions" / "app.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    server = LocalDevServer(module.app, Config(), "127.0.0.1", 0)
    thread = threading.Thread(target=server.server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server.server_address[1]}", open_store(str(tmp_path / "store"))
    server.shutdown()
    thread.join(5)


def _minio_payload(bucket: str, key: str) -> dict:
    from urllib.parse import quote

    return {"EventName": "s3:ObjectCreated:Put", "Key": f"{bucket}/{key}", "Records": [{
        "eventVersion": "2.0", "eventSource": "minio:s3", "eventName": "s3:ObjectCreated:Put",
        "userIdentity": {"principalId": "minioadmin"},
        "s3": {"s3SchemaVersion": "1.0", "configurationId": "Config",
               "bucket": {"name": bucket, "arn": f"arn:aws:s3:::{bucket}"},
               "object": {"key": quote(key, safe=""), "size": 1,
                          "contentType": "application/json"}}}]}


def test_minio_webhook_post_to_the_running_function(chalice_server, small_slice):
    url, store = chalice_server
    store.put_bytes("raw/mpd.slice.0-999.json", orjson.dumps(small_slice))
    payload = orjson.dumps(_minio_payload("llara", "raw/mpd.slice.0-999.json"))
    endpoint = f"{url}/webhook/minio"
    headers = {"Content-Type": "application/json"}

    for auth in (None, "Bearer wrong-token", "Basic test-token", "test-token"):
        sent = headers if auth is None else {**headers, "Authorization": auth}
        denied = requests.post(endpoint, data=payload, headers=sent, timeout=30)
        assert denied.status_code == 401
        assert "error" in denied.json()
    assert store_status(store)["playlists"] == 0  # nothing ran

    ok = requests.post(endpoint, data=payload,
                       headers={**headers, "Authorization": "Bearer test-token"}, timeout=30)
    assert ok.status_code == 200, ok.text
    (result,) = ok.json()["processed"]
    assert result["source"] == "mpd.slice.0-999.json" and result["playlists_ok"] == 30
    assert store_status(store)["playlists"] == 30

    bad = requests.post(endpoint, data=b'{"hello": 1}',
                        headers={**headers, "Authorization": "Bearer test-token"}, timeout=30)
    assert bad.status_code == 400 and "unrecognised event" in bad.json()["error"]
    garbage = requests.post(endpoint, data=b"\xff not json",
                            headers={**headers, "Authorization": "Bearer test-token"}, timeout=30)
    assert garbage.status_code == 400


def test_webhook_refuses_everything_without_a_configured_token(tmp_path, monkeypatch):
    from llara.config import get_settings
    from llara.etl import webhook
    from llara.web import Request, Router

    monkeypatch.setenv("LLARA_STORE", str(tmp_path / "store"))
    get_settings.cache_clear()
    router = Router()
    router.route("POST", "/hook")(webhook)
    response = router.dispatch(Request("POST", "/hook", {"Authorization": "Bearer "}, b"{}"))
    assert response.status == 401 and "not configured" in response.body["error"]


def test_webhook_answers_503_when_the_store_is_down(tmp_path, monkeypatch):
    from llara.config import get_settings
    from llara.etl import webhook
    from llara.web import Request, Router

    monkeypatch.setenv("LLARA_STORE", "s3://down-bucket")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "x")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "y")
    monkeypatch.setenv("LLARA_WEBHOOK_TOKEN", "tok")  # noqa: S105 - test-only
    get_settings.cache_clear()
    router = Router()
    router.route("POST", "/hook")(webhook)
    payload = orjson.dumps(_minio_payload("down-bucket", "raw/a.json"))
    response = router.dispatch(Request("POST", "/hook", {"Authorization": "Bearer tok"}, payload))
    assert response.status == 503 and "retry" in response.body["error"]

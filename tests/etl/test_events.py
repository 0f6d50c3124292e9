"""Every accepted event shape reaches the same handler; everything else is acknowledged."""
from __future__ import annotations

import orjson
import pytest
from chalice.app import S3Event

from llara.etl import EventError, ObjectEvent, handle_event, parse_event
from llara.store import open_store

KEY = "raw/incoming/a b.json"
ENCODED = "raw%2Fincoming%2Fa+b.json"


def aws_event(key=ENCODED, name="ObjectCreated:Put", bucket="llara"):
    return {"Records": [{
        "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
        "eventTime": "2024-05-01T00:00:00.000Z", "eventName": name,
        "s3": {"s3SchemaVersion": "1.0", "configurationId": "raw",
               "bucket": {"name": bucket, "arn": f"arn:aws:s3:::{bucket}"},
               "object": {"key": key, "size": 10, "eTag": "x", "sequencer": "0"}}}]}


def minio_event(key=ENCODED, name="s3:ObjectCreated:Put", bucket="llara"):
    record = aws_event(key, name, bucket)["Records"][0]
    record.update(eventVersion="2.0", eventSource="minio:s3")
    return {"EventName": name, "Key": f"{bucket}/{KEY}", "Records": [record]}


def test_aws_notification():
    assert parse_event(aws_event()) == ([ObjectEvent("ObjectCreated:Put", "llara", KEY)], [])


def test_minio_webhook_payload_uses_records_once():
    assert parse_event(minio_event()) == ([ObjectEvent("ObjectCreated:Put", "llara", KEY)], [])


def test_minio_payload_without_records():
    event = {"EventName": "s3:ObjectCreated:Post", "Key": "llara/raw/incoming%2Fa.json"}
    assert parse_event(event) == (
        [ObjectEvent("ObjectCreated:Post", "llara", "raw/incoming/a.json")], [])


def test_chalice_s3_event():
    event = S3Event(aws_event(), context=None)
    assert event.key == KEY  # chalice decodes too; we read the same record
    assert parse_event(event) == ([ObjectEvent("ObjectCreated:Put", "llara", KEY)], [])


def test_sqs_and_sns_wrapped_notifications():
    sqs = {"Records": [{"eventSource": "aws:sqs", "messageId": "1",
                        "body": orjson.dumps(aws_event()).decode()}]}
    sns = {"Records": [{"EventSource": "aws:sns",
                        "Sns": {"Message": orjson.dumps(aws_event()).decode()}}]}
    for event in (sqs, sns):
        assert parse_event(event)[0] == [ObjectEvent("ObjectCreated:Put", "llara", KEY)]


def test_s3_test_event_is_acknowledged():
    event = {"Service": "Amazon S3", "Event": "s3:TestEvent", "Time": "2024-05-01T00:00:00Z",
             "Bucket": "llara", "RequestId": "1", "HostId": "2"}
    assert parse_event(event) == ([], ["s3:TestEvent acknowledged"])


@pytest.mark.parametrize("event", [None, 3, [], {"what": 1}, {"Records": [1]},
                                   {"Records": [{"s3": {}}]}, b"{not json"])
def test_unrecognised_events_raise(event):
    with pytest.raises(EventError):
        parse_event(event)


@pytest.fixture
def local(tmp_path, small_slice):
    store = open_store(str(tmp_path / "store"))
    store.put_bytes(KEY, orjson.dumps(small_slice))
    return store


@pytest.mark.parametrize("make", [aws_event, minio_event,
                                  lambda: S3Event(aws_event(), context=None)])
def test_every_shape_processes_the_object(local, make):
    (result,) = handle_event(make(), local)["processed"]
    assert result["key"] == KEY and result["playlists_ok"] == 30
    assert local.exists("processed/playlists/incoming__a b.json.parquet")


@pytest.mark.parametrize("event, reason", [
    (aws_event(name="ObjectRemoved:Delete"), "ObjectRemoved:Delete event"),
    (minio_event(name="s3:ObjectAccessed:Get"), "ObjectAccessed:Get event"),
    (aws_event(key="processed%2Fx.parquet"), "not under raw/"),
    (aws_event(key="raw%2F"), "not under raw/"),
])
def test_other_events_are_ignored(local, event, reason):
    outcome = handle_event(event, local)
    assert outcome["processed"] == []
    assert [i["reason"] for i in outcome["ignored"]] == [reason]
    assert list(local.list("processed/")) == []


def test_s3_store_maps_bucket_and_prefix(s3_bucket, small_slice):
    store = open_store(f"s3://{s3_bucket}/team")
    store.put_bytes("raw/a.json", orjson.dumps(small_slice))
    outcome = handle_event({"Records": aws_event("team/raw/a.json", bucket=s3_bucket)["Records"]
                            + aws_event("raw/a.json", bucket=s3_bucket)["Records"]
                            + aws_event("team/raw/a.json", bucket="elsewhere")["Records"]},
                           store)
    assert [r["key"] for r in outcome["processed"]] == ["raw/a.json"]
    assert [i["reason"] for i in outcome["ignored"]] == [f"not in store {store.url}"] * 2


def test_one_event_naming_an_object_twice_processes_it_once(local):
    event = {"Records": aws_event()["Records"] * 2}
    assert len(handle_event(event, local)["processed"]) == 1

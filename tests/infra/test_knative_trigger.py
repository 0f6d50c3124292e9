"""The Knative PingSource's endpoint (openwhisk/knative/trigger.py) over real HTTP: a CloudEvent
post runs the shared scheduling decision against the store and records it."""
from __future__ import annotations

import importlib.util
import json
import threading
import urllib.error
import urllib.request
from http.server import ThreadingHTTPServer
from pathlib import Path

import pytest

TRIGGER = Path(__file__).resolve().parents[2] / "openwhisk" / "knative" / "trigger.py"


@pytest.fixture
def trigger_url(tmp_path, monkeypatch):
    monkeypatch.setenv("LLARA_STORE", str(tmp_path / "store"))
    monkeypatch.setenv("LLARA_TRAIN_LAUNCHER", "none")
    spec = importlib.util.spec_from_file_location("llara_knative_trigger", TRIGGER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    server = ThreadingHTTPServer(("127.0.0.1", 0), module.Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def post(url: str, body: bytes, headers: dict) -> tuple[int, dict]:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as e:
        return e.code, json.load(e)


def test_pingsource_event_runs_the_decision_and_records_it(trigger_url, tmp_path):
    from llara.store import open_store

    store = open_store(str(tmp_path / "store"))
    cloudevent = {"ce-specversion": "1.0", "ce-type": "dev.knative.sources.ping",
                  "ce-source": "/apis/v1/namespaces/llara/pingsources/llara-train-schedule",
                  "ce-id": "1", "content-type": "application/json"}
    status, decision = post(trigger_url + "/", b'{"source": "pingsource"}', cloudevent)
    assert status == 200
    assert decision["train"] is False and decision["reason"] == "no processed data in the store yet"
    store.put_bytes("processed/playlists/slice-0.parquet", b"stand-in partition")
    status, decision = post(trigger_url + "/", b"{}", cloudevent)
    assert status == 200 and decision["train"] is True and decision["new_sources"] == 1
    recorded = [k for k in store.list("state/schedule/") if "/claims/" not in k]
    assert len(recorded) == 2


def test_other_paths_and_methods_are_json_errors(trigger_url):
    status, body = post(trigger_url + "/elsewhere", b"{}", {})
    assert status == 404 and "error" in body
    with urllib.request.urlopen(trigger_url + "/health", timeout=10) as response:
        assert json.load(response) == {"status": "ok"}

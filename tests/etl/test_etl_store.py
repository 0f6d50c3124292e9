"""The ETL against a store (local folder and S3 over HTTP): partitions, quarantine, replays."""
from __future__ import annotations

import copy
import threading

import orjson
import pyarrow.parquet as pq
import pyarrow as pa
import pytest

from llara.etl import handle_event, object_created_event
from llara.processed import read_processed, read_quarantine, store_status
from llara.tables import SCHEMAS



SOURCE = "mpd.slice.0-999.json"
NEIGHBOUR = "mpd.slice.1000-1999.json"


def _ingest(store, objects: dict[str, bytes]) -> dict:
    for name, data in objects.items():
        store.put_bytes(f"raw/{name}", data)
    return handle_event(object_created_event(store, [f"raw/{n}" for n in objects]), store)


def _outputs(store) -> dict[str, bytes]:
    keys = [k for p in ("processed/", "quarantine/") for k in store.list(p)]
    return {k: store.get_bytes(k) for k in keys}


def _neighbour(small_slice) -> bytes:
    doc = copy.deepcopy(small_slice)
    for p in doc["playlists"]:
        p["pid"] += 1000
    return orjson.dumps(doc)


def test_slice_lands_as_three_partitions(store, small_slice):
    outcome = _ingest(store, {SOURCE: orjson.dumps(small_slice)})
    (result,) = outcome["processed"]
    assert result["status"] == "processed" and result["playlists_ok"] == 30
    assert sorted(store.list("processed/")) == sorted(
        f"processed/{t}/{SOURCE}.parquet" for t in SCHEMAS)
    assert list(store.list("quarantine/")) == []
    for name, schema in SCHEMAS.items():
        table = pq.read_table(pa.BufferReader(store.get_bytes(f"processed/{name}/{SOURCE}.parquet")))
        assert table.schema.equals(schema)
    n_entries = sum(len(p["tracks"]) for p in small_slice["playlists"])
    assert store_status(store) == {"slices": 1, "playlists": 30, "interactions": n_entries,
                                   "tracks": result["tracks"], "quarantined_playlists": 0,
                                   "quarantined_files": 0}


def test_replay_three_times_is_byte_identical(store, small_slice):
    _ingest(store, {SOURCE: orjson.dumps(small_slice)})
    first = _outputs(store)
    for _ in range(3):
        handle_event(object_created_event(store, [f"raw/{SOURCE}"]), store)
        assert _outputs(store) == first


def test_concurrent_runs_leave_no_duplicates(store, small_slice):
    store.put_bytes(f"raw/{SOURCE}", orjson.dumps(small_slice))
    event = object_created_event(store, [f"raw/{SOURCE}"])
    errors = []

    def run():
        try:
            handle_event(event, store)
        except Exception as e:  # noqa: BLE001 - surfaced by the assertion below
            errors.append(e)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    data = read_processed(store)
    assert data.playlists.num_rows == 30
    assert data.interactions.num_rows == sum(len(p["tracks"]) for p in small_slice["playlists"])
    pairs = list(zip(data.interactions["pid"].to_pylist(), data.interactions["pos"].to_pylist()))
    assert len(set(pairs)) == len(pairs)
    assert len(list(store.list("processed/"))) == 3


def _mutate(small_slice, index: int, change) -> bytes:
    doc = copy.deepcopy(small_slice)
    change(doc["playlists"], index)
    return orjson.dumps(doc)


def _set(path, value):
    def change(playlists, i):
        target = playlists[i]
        for part in path[:-1]:
            target = target[part]
        target[path[-1]] = value
    return change


BAD_PLAYLISTS = {
    "wrong types": (_set(("pid",), "12"), "pid: Input should be a valid integer"),
    "wrong track type": (_set(("tracks", 2, "track_name"), 42),
                         "tracks.2.track_name: Input should be a valid string"),
    "no tracks": (_set(("tracks",), []), "tracks: List should have at least 1 item"),
    "missing tracks": (lambda pls, i: pls[i].pop("tracks"), "tracks: Field required"),
    "malformed uri": (_set(("tracks", 0, "track_uri"), "spotify:track:short"),
                      "tracks.0.track_uri: String should match pattern"),
    "duplicate pid": (lambda pls, i: pls[i].__setitem__("pid", pls[0]["pid"]),
                      "duplicate pid 0 (first at index 0)"),
    "10 kB name": (_set(("name",), "n" * 10_000), "name: String should have at most 1000"),
}


@pytest.mark.parametrize("case", list(BAD_PLAYLISTS))
def test_invalid_playlist_is_quarantined_and_neighbours_land(store, small_slice, case):
    change, reason = BAD_PLAYLISTS[case]
    bad = _mutate(small_slice, 5, change)
    (result,) = _ingest(store, {SOURCE: bad})["processed"]
    assert (result["playlists_ok"], result["playlists_quarantined"]) == (29, 1)
    (entry,) = read_quarantine(store)[SOURCE]
    assert entry["index"] == 5 and reason in entry["reason"]
    assert entry["record"] == orjson.loads(bad)["playlists"][5]  # the raw record, kept whole
    landed = read_processed(store).playlists["pid"].to_pylist()
    expected = [p["pid"] for i, p in enumerate(small_slice["playlists"]) if i != 5]
    assert landed == expected
    assert store_status(store)["quarantined_playlists"] == 1


def _full_slice_head(full_slice_bytes: bytes) -> bytes:
    return full_slice_bytes[: 1024 * 1024]


UNREADABLE = {
    "not json": (lambda full: b"this is not json", "not valid JSON"),
    "truncated first MiB": (_full_slice_head, "not valid JSON (malformed or truncated)"),
    "0 bytes": (lambda full: b"", "empty object (0 bytes)"),
    "not utf-8": (lambda full: full.replace(b'"name": "', b'"name": "caf\xe9 ', 1),  # latin-1
                  "not UTF-8"),
    "empty playlists": (lambda full: b'{"info": {"slice": "0-999"}, "playlists": []}',
                        '"playlists" is empty'),
    "wrong top-level shape": (lambda full: b'[{"pid": 1}]', "top level is a JSON list"),
}


@pytest.mark.parametrize("case", list(UNREADABLE))
def test_unreadable_object_gets_a_reason_and_stays_in_raw(store, small_slice, full_slice_bytes,
                                                         case):
    make, reason = UNREADABLE[case]
    bad = make(full_slice_bytes)
    outcome = _ingest(store, {SOURCE: bad, NEIGHBOUR: _neighbour(small_slice)})
    by_source = {r["source"]: r for r in outcome["processed"]}
    assert by_source[SOURCE]["status"] == "unreadable"
    assert by_source[NEIGHBOUR]["playlists_ok"] == 30  # the good neighbour landed
    assert store.get_bytes(f"raw/{SOURCE}") == bad  # untouched
    info = orjson.loads(store.get_bytes(f"quarantine/{SOURCE}.reason.json"))
    assert info["source"] == SOURCE and info["size"] == len(bad)
    assert reason in info["reason"]
    assert not any(SOURCE in k for k in store.list("processed/"))
    status = store_status(store)
    assert (status["slices"], status["playlists"], status["quarantined_files"]) == (1, 30, 1)


def test_a_fixed_object_replaces_its_quarantine_and_a_broken_one_its_partitions(store,
                                                                                small_slice):
    _ingest(store, {SOURCE: b"{broken"})
    assert store.exists(f"quarantine/{SOURCE}.reason.json")
    _ingest(store, {SOURCE: orjson.dumps(small_slice)})
    assert not store.exists(f"quarantine/{SOURCE}.reason.json")
    assert store_status(store)["playlists"] == 30
    _ingest(store, {SOURCE: b"{broken again"})  # overwritten with garbage: its data goes too
    assert store_status(store)["playlists"] == 0
    assert list(store.list("processed/")) == []


def test_keys_are_url_decoded_and_nested_sources_flattened(store, small_slice):
    store.put_bytes("raw/2024 05/a+b.json", orjson.dumps(small_slice))
    event = object_created_event(store, ["raw/2024 05/a+b.json"])
    assert "2024+05/a%2Bb.json" in event["Records"][0]["s3"]["object"]["key"]
    (result,) = handle_event(event, store)["processed"]
    assert result["source"] == "2024 05__a+b.json" and result["playlists_ok"] == 30
    assert store.exists("processed/playlists/2024 05__a+b.json.parquet")


def test_object_deleted_before_processing_is_skipped(store):
    outcome = handle_event(object_created_event(store, ["raw/gone.json"]), store)
    assert outcome["processed"][0]["status"] == "missing"
    assert list(store.list("quarantine/")) == []


def test_one_json_log_line_per_object(tmp_path, small_slice, caplog):
    from llara.store import open_store

    store = open_store(str(tmp_path / "store"))
    with caplog.at_level("INFO", logger="llara.etl"):
        _ingest(store, {SOURCE: orjson.dumps(small_slice), NEIGHBOUR: b"{"})
    lines = [orjson.loads(r.getMessage()) for r in caplog.records if r.name == "llara.etl"]
    assert [(x["source"], x["status"], x["playlists_ok"]) for x in lines] == [
        (SOURCE, "processed", 30), (NEIGHBOUR, "unreadable", 0)]
    assert all(x["event"] == "etl.object" and x["seconds"] >= 0 for x in lines)
    assert lines[0]["playlists_quarantined"] == 0 and "truncated" in lines[1]["reason"]

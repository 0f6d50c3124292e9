"""Consolidated reads: duplicates across sources resolved deterministically."""
from __future__ import annotations

import orjson

from llara.etl import handle_event, object_created_event
from llara.processed import list_sources, natural_key, read_processed, store_status

URI = ["spotify:track:" + c * 22 for c in "ABCDEF"]


def _slice(*playlists) -> bytes:
    return orjson.dumps({"info": {}, "playlists": list(playlists)})


def _playlist(pid, name, uris, **extra):
    return {"pid": pid, "name": name, "tracks": [
        {"track_uri": u, "track_name": f"song {u[-1]}", "artist_name": "someone", **extra}
        for u in uris]}


def _ingest(store, objects):
    for name, data in objects.items():
        store.put_bytes(f"raw/{name}", data)
    handle_event(object_created_event(store, [f"raw/{n}" for n in objects]), store)


def test_natural_order_of_sources():
    names = ["mpd.slice.10000-10999.json", "mpd.slice.2000-2999.json",
             "mpd.slice.0-999.json", "2024-05-01__x.json"]
    assert sorted(names, key=natural_key) == [
        "2024-05-01__x.json", "mpd.slice.0-999.json", "mpd.slice.2000-2999.json",
        "mpd.slice.10000-10999.json"]


def test_a_pid_in_two_sources_keeps_the_newest(store):
    # Ingest the newer source first: the outcome must not depend on arrival order.
    _ingest(store, {"mpd.slice.10000-10999.json": _slice(_playlist(7, "new", URI[3:5]))})
    _ingest(store, {"mpd.slice.2000-2999.json": _slice(_playlist(7, "old", URI[:3]),
                                                       _playlist(8, "only here", URI[:1]))})
    assert list_sources(store) == ["mpd.slice.2000-2999.json", "mpd.slice.10000-10999.json"]
    data = read_processed(store)
    playlists = {p["pid"]: p for p in data.playlists.to_pylist()}
    assert playlists[7]["name"] == "new" and playlists[7]["source"] == "mpd.slice.10000-10999.json"
    assert playlists[8]["name"] == "only here"
    rows = sorted(zip(data.interactions["pid"].to_pylist(), data.interactions["pos"].to_pylist(),
                      data.interactions["track_uri"].to_pylist()))
    assert rows == [(7, 0, URI[3]), (7, 1, URI[4]), (8, 0, URI[0])]
    status = store_status(store)
    assert (status["slices"], status["playlists"], status["interactions"]) == (2, 2, 3)


def test_a_track_keeps_its_most_complete_row(store):
    _ingest(store, {
        "a.json": _slice(_playlist(1, "a", URI[:1], album_name="Full Album", duration_ms=1000,
                                   album_uri="spotify:album:" + "Z" * 22)),
        "b.json": _slice(_playlist(2, "b", URI[:1])),  # newer, but bare
        "c.json": _slice(_playlist(3, "c", URI[:1], album_name="Partial")),
    })
    (track,) = read_processed(store).tracks.to_pylist()
    assert track["album_name"] == "Full Album" and track["duration_ms"] == 1000
    assert track["text"] == "song A by someone from Full Album"


def test_ties_go_to_the_newest_source_and_reads_are_stable(store):
    _ingest(store, {"a.json": _slice(_playlist(1, "a", URI[:1], album_name="Old")),
                    "b.json": _slice(_playlist(2, "b", URI[:1], album_name="New"))})
    first = read_processed(store)
    assert first.tracks["album_name"].to_pylist() == ["New"]
    again = read_processed(store)
    for name in ("interactions", "tracks", "playlists"):
        assert getattr(first, name).equals(getattr(again, name))


def test_empty_store(store):
    data = read_processed(store)
    assert data.playlists.num_rows == data.interactions.num_rows == data.tracks.num_rows == 0
    assert store_status(store) == dict.fromkeys(
        ["slices", "playlists", "interactions", "tracks", "quarantined_playlists",
         "quarantined_files"], 0)

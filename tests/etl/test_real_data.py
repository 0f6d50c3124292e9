"""All of the real MPD sample lands through the handler, nothing lost."""
from __future__ import annotations

import orjson
import pytest

from llara.etl import handle_event, object_created_event
from llara.processed import list_sources, read_processed, read_quarantine
from llara.store import open_store

pytestmark = pytest.mark.real_data


def test_the_whole_sample_lands(mpd_sample, tmp_path):
    store = open_store(str(tmp_path / "store"))
    keys, empty_files = [], []
    for path in sorted((mpd_sample / "slices").glob("*.json")):
        data = path.read_bytes()
        keys.append(f"raw/{path.name}")
        store.put_bytes(keys[-1], data)
        if not orjson.loads(data)["playlists"]:
            empty_files.append(path.name)  # trimmed to nothing by the sample's publisher
    outcome = handle_event(object_created_event(store, keys), store)  # one batched event
    assert len(outcome["processed"]) == len(keys) == 932
    data = read_processed(store)
    assert data.playlists.num_rows == len(set(data.playlists["pid"].to_pylist())) == 7071
    assert data.interactions.num_rows == 696_957
    assert sum(r["playlists_quarantined"] for r in outcome["processed"]) == 0
    # An empty "playlists" list is quarantined as unreadable by contract; the sample has such
    # files only where trimming removed every playlist, and nothing else is quarantined.
    assert sorted(read_quarantine(store)) == empty_files
    assert len(empty_files) <= 1
    assert len(list_sources(store)) == 932 - len(empty_files)
    assert data.tracks.num_rows == len(set(data.interactions["track_uri"].to_pylist()))
    assert data.tracks["text"].null_count == 0

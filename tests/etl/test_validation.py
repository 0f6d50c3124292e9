"""Bulk validation agrees with the pydantic schema; transform builds the contract tables."""
from __future__ import annotations

import copy

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, Field, ValidationError

from llara.etl import compile_rules, parse_slice, transform, UnreadableObject
from llara.schemas import MAX_NAME_CHARS, Playlist, track_text
from llara.tables import SCHEMAS

GOOD_URI = "spotify:track:" + "A" * 22

# Values that probe every rule: types (strict: bools are not ints, "1" is not 1), patterns,
# lengths, bounds, nulls, and containers where scalars belong.
ODD_VALUES = st.sampled_from([
    None, True, 1, -1, 0, 2**70, 1.5, "", "x", "1", "x" * (MAX_NAME_CHARS + 1), [], {},
    GOOD_URI, GOOD_URI + "\n", GOOD_URI[:-1], "spotify:track:" + "é" * 22,
    "spotify:album:" + "A" * 22, "x" * 201,
])
TRACK_FIELDS = ["track_uri", "track_name", "artist_name", "pos", "album_name", "artist_uri",
                "album_uri", "duration_ms"]
PLAYLIST_FIELDS = ["pid", "name", "description", "collaborative", "modified_at", "num_tracks",
                   "num_albums", "num_followers", "num_edits", "duration_ms", "num_artists",
                   "tracks"]


def _lands(record) -> bool:
    """The oracle: pydantic accepts it and its integers fit the int64 columns."""
    try:
        Playlist.model_validate(record)
    except ValidationError:
        return False
    objs = [record, *record["tracks"]]
    return all(-(2**63) <= v < 2**63 for o in objs for v in o.values() if type(v) is int)


@pytest.fixture(scope="module")
def few_playlists(small_slice):
    return [{**p, "tracks": p["tracks"][:5]} for p in small_slice["playlists"][:4]]


@settings(max_examples=250, deadline=None, suppress_health_check=[
    HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_bulk_verdict_equals_pydantic(few_playlists, data):
    """Random corruptions of full-format playlists: one lands iff the schema accepts it."""
    playlists = copy.deepcopy(few_playlists)
    for pid, p in enumerate(playlists):
        p["pid"] = pid
    for _ in range(data.draw(st.integers(1, 4))):
        p = playlists[data.draw(st.integers(0, 3))]
        if not isinstance(p, dict):
            continue
        tracks = p.get("tracks")
        on_track = (data.draw(st.booleans()) and isinstance(tracks, list) and tracks
                    and isinstance(tracks[0], dict))
        target = tracks[data.draw(st.integers(0, len(tracks) - 1))] if on_track else p
        if not isinstance(target, dict):
            continue
        field = data.draw(st.sampled_from(TRACK_FIELDS if on_track else PLAYLIST_FIELDS))
        if data.draw(st.integers(0, 4)) == 0:
            target.pop(field, None)
        else:
            target[field] = data.draw(ODD_VALUES)
    if data.draw(st.integers(0, 9)) == 0:
        playlists[1] = data.draw(ODD_VALUES)  # a playlist that is not an object at all
    pids = [p.get("pid") if isinstance(p, dict) else None for p in playlists]
    result = transform(playlists, "s")
    landed = result.tables["playlists"]["pid"].to_pylist()
    rejected = {r.index: r.reason for r in result.rejected}
    for i, p in enumerate(playlists):
        duplicate = type(pids[i]) is int and pids[i] in pids[:i] and _lands(
            playlists[pids.index(pids[i])])
        expected = _lands(p) and not duplicate
        assert (i not in rejected) == expected, (i, p, rejected)
    assert len(landed) == len(playlists) - len(rejected)


def test_compile_rules_refuses_what_it_cannot_check():
    class Odd(BaseModel):
        name: str = Field(min_length=3)

    with pytest.raises(TypeError, match="minLength"):
        compile_rules(Odd)


def test_tables_follow_the_contract(small_slice):
    result = transform(small_slice["playlists"], "mpd.slice.0-999.json")
    assert result.rejected == []
    for name, schema in SCHEMAS.items():
        assert result.tables[name].schema.equals(schema), name
    first = small_slice["playlists"][0]
    inter = result.tables["interactions"].to_pylist()
    assert inter[: len(first["tracks"])] == [
        {"pid": first["pid"], "pos": i, "track_uri": t["track_uri"]}
        for i, t in enumerate(first["tracks"])]
    assert len(inter) == sum(len(p["tracks"]) for p in small_slice["playlists"])
    playlist = result.tables["playlists"].to_pylist()[0]
    assert playlist == {
        "pid": first["pid"], "name": first["name"], "description": first.get("description"),
        "num_followers": first["num_followers"], "num_edits": first["num_edits"],
        "num_tracks": len(first["tracks"]), "modified_at": first["modified_at"],
        "collaborative": first["collaborative"] == "true", "source": "mpd.slice.0-999.json"}
    tracks = {t["track_uri"]: t for t in result.tables["tracks"].to_pylist()}
    raw = first["tracks"][0]
    assert tracks[raw["track_uri"]] == {
        "track_uri": raw["track_uri"], "track_name": raw["track_name"],
        "artist_name": raw["artist_name"], "album_name": raw["album_name"],
        "artist_uri": raw["artist_uri"], "album_uri": raw["album_uri"],
        "duration_ms": raw["duration_ms"],
        "text": track_text(raw["track_name"], raw["artist_name"], raw["album_name"])}
    assert len(tracks) == len({t["track_uri"] for p in small_slice["playlists"]
                               for t in p["tracks"]})


def test_trimmed_records_land_with_nulls():
    """Real slices omit pos, album_*, artist_uri, modified_at...: optional, so they land."""
    playlists = [{"pid": 3, "name": "classics", "num_followers": 10,
                  "tracks": [{"track_uri": GOOD_URI, "track_name": "Wild World",
                              "artist_name": "Cat Stevens"}]}]
    result = transform(playlists, "s")
    assert result.rejected == []
    track = result.tables["tracks"].to_pylist()[0]
    assert track["album_name"] is None and track["text"] == "Wild World by Cat Stevens"
    playlist = result.tables["playlists"].to_pylist()[0]
    assert playlist["modified_at"] is None and playlist["collaborative"] is None


def test_a_track_keeps_its_most_complete_row_within_a_slice():
    bare = {"track_uri": GOOD_URI, "track_name": "Toxic", "artist_name": "Britney Spears"}
    full = {**bare, "album_name": "In The Zone", "duration_ms": 198800}
    result = transform([{"pid": 1, "name": "a", "tracks": [bare]},
                        {"pid": 2, "name": "b", "tracks": [full]}], "s")
    (track,) = result.tables["tracks"].to_pylist()
    assert track["album_name"] == "In The Zone"
    assert track["text"] == "Toxic by Britney Spears from In The Zone"


@pytest.mark.parametrize("data, reason", [
    (b"", "0 bytes"),
    (b"\xff\xfe{}", "not UTF-8"),
    (b"{\"playlists\": [", "not valid JSON"),
    (b"not json at all", "not valid JSON"),
    (b"[1, 2]", "top level is a JSON list"),
    (b'{"info": {}}', 'no "playlists"'),
    (b'{"playlists": {"a": 1}}', '"playlists" is a JSON dict'),
    (b'{"playlists": []}', '"playlists" is empty'),
])
def test_unreadable_reasons(data, reason):
    with pytest.raises(UnreadableObject, match=reason.replace("(", r"\(")):
        parse_slice(data)


def test_interactions_pos_is_the_order_not_the_claimed_pos():
    tracks = [{"track_uri": "spotify:track:" + c * 22, "track_name": c, "artist_name": c,
               "pos": 7} for c in "ABC"]
    result = transform([{"pid": 1, "name": "x", "tracks": tracks}], "s")
    assert result.tables["interactions"]["pos"].to_pylist() == [0, 1, 2]
    assert result.tables["interactions"]["pos"].type == pa.int32()

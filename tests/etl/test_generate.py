"""The synthetic MPD: full format, deterministic, the documented shape, learnable structure."""
from __future__ import annotations

from collections import Counter, defaultdict

import numpy as np
import orjson

from llara.generate import GENRES, generate_slices, write_slices
from llara.schemas import Slice

FULL_TRACK_FIELDS = {"pos", "artist_name", "track_uri", "artist_uri", "track_name", "album_uri",
                     "duration_ms", "album_name"}
FULL_PLAYLIST_FIELDS = {"name", "collaborative", "pid", "modified_at", "num_tracks",
                        "num_albums", "num_followers", "tracks", "num_edits", "duration_ms",
                        "num_artists"}


def test_slices_are_full_format_and_valid(tmp_path):
    paths = write_slices(tmp_path, 1100, seed=5, n_tracks=5000)
    assert [p.name for p in paths] == ["mpd.slice.0-999.json", "mpd.slice.1000-1999.json"]
    docs = [orjson.loads(p.read_bytes()) for p in paths]
    assert [len(d["playlists"]) for d in docs] == [1000, 100]
    assert docs[1]["info"]["slice"] == "1000-1999"
    pids = [pl["pid"] for d in docs for pl in d["playlists"]]
    assert pids == list(range(1100))
    for doc in docs:
        Slice.model_validate(doc)  # every playlist passes the one schema
        for pl in doc["playlists"]:
            assert FULL_PLAYLIST_FIELDS <= set(pl)
            assert pl["num_tracks"] == len(pl["tracks"])
            assert [t["pos"] for t in pl["tracks"]] == list(range(len(pl["tracks"])))
            assert len({t["track_uri"] for t in pl["tracks"]}) == len(pl["tracks"])
            assert pl["num_artists"] == len({t["artist_uri"] for t in pl["tracks"]})
            assert pl["duration_ms"] == sum(t["duration_ms"] for t in pl["tracks"])
            assert all(set(t) == FULL_TRACK_FIELDS for t in pl["tracks"])
    # The real files' layout: 4-space indent.
    assert paths[0].read_bytes().startswith(b'{\n    "info": {\n        "generated_on"')


def test_deterministic_per_seed():
    a = [d for _, d in generate_slices(400, seed=3, n_tracks=3000)]
    b = [d for _, d in generate_slices(400, seed=3, n_tracks=3000)]
    c = [d for _, d in generate_slices(400, seed=4, n_tracks=3000)]
    assert a == b
    assert a != c


def test_lengths_and_popularity(full_slice_bytes):
    playlists = orjson.loads(full_slice_bytes)["playlists"]
    lengths = np.array([len(p["tracks"]) for p in playlists])
    assert lengths.min() >= 5 and lengths.max() <= 250
    assert 65 <= np.median(lengths) <= 90
    counts = np.array(sorted(Counter(t["track_uri"] for p in playlists
                                     for t in p["tracks"]).values(), reverse=True))
    # Zipf-like: the top 1% of tracks carry far more than 1% of the entries.
    top = counts[: max(1, len(counts) // 100)].sum() / counts.sum()
    assert top > 0.08
    assert counts[0] > 20 * np.median(counts)


def test_titles_predict_held_out_tracks(full_slice_bytes):
    """Learnable: tracks that co-occur with a playlist's title words (learned on 800
    playlists) rank its held-out tracks far better than global popularity does."""
    playlists = orjson.loads(full_slice_bytes)["playlists"]
    train, test = playlists[:800], playlists[800:]
    popularity = Counter()
    by_word: dict[str, Counter] = defaultdict(Counter)
    for p in train:
        uris = [t["track_uri"] for t in p["tracks"]]
        popularity.update(uris)
        for word in p["name"].lower().replace("!", "").split():
            by_word[word].update(uris)
    global_top = [u for u, _ in popularity.most_common(100)]

    def hits(ranked, held_out):
        return len(set(ranked[:100]) & held_out)

    title_hits = pop_hits = 0
    for p in test:
        held_out = {t["track_uri"] for t in p["tracks"]}
        scores = Counter()
        for word in p["name"].lower().replace("!", "").split():
            scores.update(by_word.get(word, {}))
        title_hits += hits([u for u, _ in scores.most_common(100)], held_out)
        pop_hits += hits(global_top, held_out)
    assert title_hits > 2 * pop_hits


def test_names_carry_genre_words(full_slice_bytes):
    words = {w for ws in GENRES.values() for word in ws for w in word.lower().split()}
    playlists = orjson.loads(full_slice_bytes)["playlists"]
    tracks = [t for p in playlists[:100] for t in p["tracks"]]
    hinted = [any(w in words for w in f"{t['track_name']} {t['album_name']} {t['artist_name']}"
                  .lower().split()) for t in tracks]
    assert np.mean(hinted) > 0.6

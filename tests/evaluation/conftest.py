"""Processed tables built in memory for the evaluation tests: a structured toy world where
playlists draw from one genre, so a recommender that learns co-occurrence beats random."""
from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from llara.schemas import track_text


def _uri(i: int) -> str:
    return f"spotify:track:{i:022d}"


def make_tables(n_playlists: int = 400, n_genres: int = 8, tracks_per_genre: int = 150,
                lengths: tuple[int, int] = (10, 120), seed: int = 0) -> dict[str, pa.Table]:
    """Processed-table contract (llara.tables) for a world of genres. Track i belongs to genre
    ``i // tracks_per_genre`` and has artist ``genre*10 + (i % 10)``; a playlist of genre g is
    named "genre<g> mix" and draws Zipf-popular tracks of its genre; genres differ in size."""
    rng = np.random.default_rng(seed)
    n_tracks = n_genres * tracks_per_genre
    popularity = 1.0 / np.arange(1, tracks_per_genre + 1)
    popularity /= popularity.sum()
    genre_weights = 1.0 / np.arange(1, n_genres + 1) ** 0.7  # some genres are bigger
    genres = rng.choice(n_genres, size=n_playlists, p=genre_weights / genre_weights.sum())
    pids, poss, uris, names = [], [], [], []
    for pid, genre in enumerate(genres.tolist()):
        length = int(rng.integers(lengths[0], lengths[1] + 1))
        picks = rng.choice(tracks_per_genre, size=min(length, tracks_per_genre), replace=False,
                           p=popularity)
        if length > tracks_per_genre:  # longer playlists repeat tracks, as real ones can
            picks = np.concatenate([picks, rng.choice(picks, length - tracks_per_genre)])
        for pos, t in enumerate(genre * tracks_per_genre + picks):
            pids.append(pid)
            poss.append(pos)
            uris.append(_uri(int(t)))
        names.append(f"genre{genre} mix")
    track_names = [f"song {i}" for i in range(n_tracks)]
    artists = [f"artist {(i // tracks_per_genre) * 10 + i % 10}" for i in range(n_tracks)]
    return {
        "interactions": pa.table({"pid": pa.array(pids, pa.int64()),
                                  "pos": pa.array(poss, pa.int32()),
                                  "track_uri": pa.array(uris, pa.string())}),
        "tracks": pa.table({
            "track_uri": [_uri(i) for i in range(n_tracks)],
            "track_name": track_names, "artist_name": artists,
            "album_name": pa.array([None] * n_tracks, pa.string()),
            "text": [track_text(t, a) for t, a in zip(track_names, artists)]}),
        "playlists": pa.table({"pid": pa.array(range(n_playlists), pa.int64()),
                               "name": names,
                               "num_tracks": pa.array([0] * n_playlists, pa.int32()),
                               "source": ["toy.json"] * n_playlists}),
    }


@pytest.fixture(scope="session")
def toy_tables() -> dict[str, pa.Table]:
    return make_tables()


@pytest.fixture(scope="session")
def toy_data(toy_tables):
    from llara_training.split import build_dataset

    return build_dataset(toy_tables, seed=0)

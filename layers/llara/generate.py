"""A synthetic Million Playlist Dataset: slices in the full MPD format, with learnable structure.

The real MPD cannot be redistributed, so demos, tests and benchmarks use this generator. Its
output has every field of the full format (``info`` header, ``pos``, album and artist URIs,
durations, ``modified_at``...) in files named ``mpd.slice.A-B.json`` of 1,000 playlists, printed
with a 4-space indent like the real files (a full slice is about 33 MB).

The structure is what a recommender can learn:

* a few dozen latent genres; every artist belongs to one, with albums of tracks;
* a playlist mixes one main genre with, sometimes, a second one, so artists of a genre co-occur;
* track popularity within a genre is Zipf-like (a few hits, a long tail);
* playlist titles, track, album and artist names are drawn from words that hint at the genre,
  so a text encoder has signal for tracks it has never seen in a playlist;
* lengths run 5..250 tracks with a median near the real 77.

Everything is drawn from one ``numpy`` generator seeded by ``seed``, so a (playlists, seed) pair
always writes the same bytes. The work is vectorised: 100k playlists take seconds, not minutes.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from itertools import chain
from pathlib import Path

import numpy as np
import orjson

SLICE_SIZE = 1000
MIN_TRACKS, MAX_TRACKS, MEDIAN_TRACKS = 5, 250, 77
_BASE62 = np.frombuffer(b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
                        dtype=np.uint8)

# Each genre: the words its titles and names are built from (the first word names the genre).
GENRES: dict[str, tuple[str, ...]] = {
    "rock": ("rock", "guitar", "riff", "amplifier", "rebel", "thunder", "highway", "stone"),
    "metal": ("metal", "iron", "doom", "inferno", "skull", "steel", "blade", "raven"),
    "punk": ("punk", "riot", "anarchy", "garage", "spit", "safety pin", "noise", "basement"),
    "indie": ("indie", "cassette", "bedroom", "polaroid", "cardigan", "lo-fi", "vinyl", "attic"),
    "pop": ("pop", "bubblegum", "sparkle", "crush", "glitter", "candy", "heartbeat", "sugar"),
    "hip hop": ("hip hop", "rap", "hustle", "block", "cypher", "mixtape", "flow", "street"),
    "trap": ("trap", "drip", "808", "flex", "ice", "molly", "bands", "savage"),
    "r&b": ("r&b", "velvet", "slow jam", "silk", "satin", "honey", "candlelight", "groove"),
    "soul": ("soul", "motown", "gospel choir", "brother", "sister", "revival", "testify", "amen"),
    "jazz": ("jazz", "saxophone", "bebop", "swing", "trumpet", "blue note", "smoky", "lounge"),
    "blues": ("blues", "delta", "crossroads", "whiskey", "harmonica", "muddy", "train", "bayou"),
    "country": ("country", "truck", "dirt road", "cowboy", "boots", "honky tonk", "tailgate",
                "rodeo"),
    "folk": ("folk", "banjo", "campfire", "harvest", "meadow", "ballad", "wanderer", "cabin"),
    "classical": ("classical", "symphony", "sonata", "concerto", "piano", "orchestra", "adagio",
                  "nocturne"),
    "edm": ("edm", "drop", "festival", "bass", "rave", "laser", "bounce", "anthem"),
    "house": ("house", "deep house", "club", "dancefloor", "disco ball", "groove", "ibiza",
              "sunset"),
    "techno": ("techno", "warehouse", "berlin", "pulse", "machine", "acid", "modular", "strobe"),
    "dubstep": ("dubstep", "wobble", "bassline", "growl", "filth", "riddim", "subwoofer",
                "glitch"),
    "reggae": ("reggae", "island", "dub", "jah", "irie", "roots", "kingston", "rasta"),
    "latin": ("latin", "reggaeton", "fuego", "baila", "corazon", "fiesta", "caliente", "salsa"),
    "k-pop": ("k-pop", "seoul", "idol", "bias", "comeback", "hallyu", "stan", "dance break"),
    "chill": ("chill", "lofi beats", "study", "rainy day", "coffee", "mellow", "cozy", "sleepy"),
    "ambient": ("ambient", "drone", "ocean", "space", "float", "horizon", "aurora", "stillness"),
    "workout": ("workout", "gym", "pump", "cardio", "sweat", "beast mode", "run", "lift"),
    "party": ("party", "turn up", "shots", "weekend", "friday", "pregame", "lit", "dance"),
    "worship": ("worship", "praise", "grace", "hallelujah", "spirit", "glory", "faith", "hymn"),
    "emo": ("emo", "heartbreak", "eyeliner", "tears", "broken", "midnight", "scene", "razor"),
    "grunge": ("grunge", "flannel", "seattle", "sludge", "fuzz", "teen spirit", "rain", "mud"),
    "oldies": ("oldies", "jukebox", "doo wop", "sock hop", "diner", "1960s", "sweetheart",
               "radio"),
    "80s": ("80s", "synthwave", "neon", "arcade", "cassette tape", "retro", "vhs", "new wave"),
    "christmas": ("christmas", "snow", "santa", "holiday", "jingle", "mistletoe", "sleigh",
                  "winter"),
    "disney": ("disney", "princess", "magic", "castle", "wish", "fairy tale", "kingdom",
               "adventure"),
    "soundtrack": ("soundtrack", "score", "epic", "cinema", "hero", "theme", "trailer", "saga"),
    "acoustic": ("acoustic", "unplugged", "strings", "fingerpicking", "porch", "quiet",
                 "sunday", "cover"),
    "funk": ("funk", "bassline", "groovy", "boogie", "brass", "get down", "shaft", "strut"),
    "alt": ("alternative", "college radio", "fuzzbox", "modern rock", "outsider", "static",
            "echo", "wave"),
}
_GENERIC_TITLE = ("mix", "playlist", "vibes", "songs", "jams", "music", "tunes", "favorites",
                  "2017", "summer", "my", "new", "best", "all time", "road trip", "night")
_NAME_PARTS = ("love", "night", "fire", "heart", "dream", "light", "shadow", "river", "city",
               "gold", "wild", "forever", "blue", "home", "lost", "young", "sky", "moon",
               "echoes", "ghost", "paradise", "summer", "electric", "golden", "crazy", "free")
_FIRST = ("Jake", "Luna", "Marcus", "Ivy", "Leo", "Nina", "Omar", "Rosa", "Sam", "Tess", "Kai",
          "Mila", "Dante", "Zoe", "Felix", "Ada", "Hugo", "Lila", "Rex", "Cleo", "Theo", "Maya")
_LAST = ("Stone", "Rivers", "Gray", "Cole", "Hart", "Vance", "Blake", "Reyes", "Cruz", "Lane",
         "Knox", "Wolfe", "Fox", "Quinn", "Sparks", "Holt", "Banks", "Frost", "Moss", "West")


@dataclass(frozen=True)
class Catalog:
    """The synthetic tracks: one row per track, grouped by genre (tracks of genre g are
    ``track_genre == g``, popularity-ranked inside it)."""

    track_uri: list[str]
    track_name: list[str]
    artist_name: list[str]
    artist_uri: list[str]
    album_name: list[str]
    album_uri: list[str]
    duration_ms: np.ndarray
    track_genre: np.ndarray
    track_weight: np.ndarray  # popularity inside the genre; sums to 1 per genre


def _uris(rng: np.random.Generator, kind: str, n: int) -> list[str]:
    """``n`` distinct random ``spotify:<kind>:<22 base62>`` URIs."""
    while True:
        codes = _BASE62[rng.integers(0, 62, size=(n, 22))].tobytes()
        ids = [codes[i * 22:(i + 1) * 22].decode() for i in range(n)]
        if len(set(ids)) == n:  # collisions are astronomically rare; redraw if one happens
            return [f"spotify:{kind}:{i}" for i in ids]


def _pick(rng: np.random.Generator, words: tuple[str, ...], n: int) -> list[str]:
    return [words[i] for i in rng.integers(0, len(words), size=n)]


def _title_case(text: str) -> str:
    return " ".join(w[:1].upper() + w[1:] for w in text.split(" "))


def build_catalog(rng: np.random.Generator, n_tracks: int) -> Catalog:
    """Artists (one genre each) with 1-4 albums of 4-14 tracks, about ``n_tracks`` tracks."""
    genre_words = list(GENRES.values())
    n_genres = len(genre_words)
    n_artists = max(n_genres * 4, n_tracks // 22)
    artist_genre = np.arange(n_artists) % n_genres  # every genre has artists
    artist_genre.sort()
    # Artist names: half carry a genre word ("DJ Drop", "The Neon Kids"), half a person's name.
    style = rng.integers(0, 4, size=n_artists)
    g_word = [genre_words[g][i] for g, i in zip(artist_genre, rng.integers(1, 8, size=n_artists))]
    first, last = _pick(rng, _FIRST, n_artists), _pick(rng, _LAST, n_artists)
    part = _pick(rng, _NAME_PARTS, n_artists)
    artist_names = []
    for a in range(n_artists):
        word = _title_case(g_word[a])
        artist_names.append(
            (f"The {word} {_title_case(part[a])}s", f"DJ {word}", f"{first[a]} {last[a]}",
             f"{first[a]} {last[a]} & The {word}")[style[a]])
    # Make every artist name unique (a suffix like real "Yusuf / Cat Stevens" variants).
    seen: dict[str, int] = {}
    for a, name in enumerate(artist_names):
        count = seen.get(name, 0)
        seen[name] = count + 1
        if count:
            artist_names[a] = f"{name} {count + 1}"
    artist_uris = _uris(rng, "artist", n_artists)

    albums_per_artist = rng.integers(1, 5, size=n_artists)
    album_artist = np.repeat(np.arange(n_artists), albums_per_artist)
    n_albums = len(album_artist)
    tracks_per_album = rng.integers(4, 15, size=n_albums)
    track_album = np.repeat(np.arange(n_albums), tracks_per_album)
    track_artist = album_artist[track_album]
    track_genre = artist_genre[track_artist]
    n = len(track_album)

    def names(count: int, genres: np.ndarray) -> list[str]:
        words = rng.integers(1, 8, size=count)
        parts = _pick(rng, _NAME_PARTS, count)
        order = rng.integers(0, 3, size=count)
        out = []
        for i in range(count):
            word = genre_words[genres[i]][words[i]]
            out.append(_title_case((f"{word} {parts[i]}", f"{parts[i]} {word}", parts[i])[order[i]]))
        return out

    album_names = names(n_albums, artist_genre[album_artist])
    album_uris = _uris(rng, "album", n_albums)
    track_names = names(n, track_genre)
    # Zipf-like popularity inside each genre: weight 1/rank^0.9 over a random ranking.
    weight = np.empty(n)
    for g in range(n_genres):
        idx = np.flatnonzero(track_genre == g)
        ranks = rng.permutation(len(idx)) + 1
        w = 1.0 / ranks**0.9
        weight[idx] = w / w.sum()
    return Catalog(
        track_uri=_uris(rng, "track", n),
        track_name=track_names,
        artist_name=[artist_names[a] for a in track_artist],
        artist_uri=[artist_uris[a] for a in track_artist],
        album_name=[album_names[a] for a in track_album],
        album_uri=[album_uris[a] for a in track_album],
        duration_ms=rng.integers(90_000, 420_000, size=n),
        track_genre=track_genre,
        track_weight=weight,
    )


def _track_fragments(catalog: Catalog) -> list[bytes]:
    """Each track's fields after ``pos``, pre-rendered once in the real files' layout."""
    pad = b"\n" + b" " * 20
    out = []
    for i in range(len(catalog.track_uri)):
        fields = (("artist_name", catalog.artist_name[i]), ("track_uri", catalog.track_uri[i]),
                  ("artist_uri", catalog.artist_uri[i]), ("track_name", catalog.track_name[i]),
                  ("album_uri", catalog.album_uri[i]),
                  ("duration_ms", int(catalog.duration_ms[i])),
                  ("album_name", catalog.album_name[i]))
        out.append(b"".join(b"," + pad + orjson.dumps(k) + b": " + orjson.dumps(v)
                            for k, v in fields) + b"\n" + b" " * 16 + b"}")
    return out


def _sample_playlists(rng: np.random.Generator, catalog: Catalog, n: int):
    """Genres, lengths and track indices (flat, with offsets) of ``n`` playlists."""
    n_genres = len(GENRES)
    genre_pop = 1.0 / np.arange(1, n_genres + 1) ** 0.7
    genre_pop = rng.permutation(genre_pop / genre_pop.sum())
    main = rng.choice(n_genres, size=n, p=genre_pop)
    second = rng.choice(n_genres, size=n, p=genre_pop)
    share_main = np.where(rng.random(n) < 0.6, 1.0, rng.uniform(0.55, 0.9, size=n))
    lengths = np.clip(np.round(rng.lognormal(np.log(MEDIAN_TRACKS), 0.7, size=n)),
                      MIN_TRACKS, MAX_TRACKS).astype(np.int64)
    # Inverse-CDF sampling for every draw at once: genre g's tracks occupy [g, g+1) of one CDF.
    order = np.argsort(catalog.track_genre, kind="stable")
    genre_sorted = catalog.track_genre[order]
    weight_sorted = catalog.track_weight[order]
    running = np.cumsum(weight_sorted)
    genre_start = np.searchsorted(genre_sorted, np.arange(n_genres))
    before = (running[genre_start] - weight_sorted[genre_start])[genre_sorted]
    cdf = genre_sorted + (running - before)
    done_owner, done_track = [], []  # playlists that reached their length
    owner = np.empty(0, dtype=np.int64)
    track = np.empty(0, dtype=np.int64)
    short = np.arange(n)
    need = lengths.copy()
    finished = np.zeros(n, dtype=bool)
    for _ in range(50):  # top up playlists that lost tracks to repeats
        new_owner = np.repeat(short, np.ceil(need[short] * 1.5).astype(np.int64) + 2)
        genre = np.where(rng.random(len(new_owner)) < share_main[new_owner],
                         main[new_owner], second[new_owner])
        pick = np.searchsorted(cdf, genre + rng.random(len(new_owner)) * (1 - 1e-9))
        owner = np.concatenate([owner, new_owner])
        track = np.concatenate([track, order[np.minimum(pick, len(order) - 1)]])
        by_owner = np.argsort(owner, kind="stable")
        owner, track = owner[by_owner], track[by_owner]
        # Keep each playlist's first occurrence of a track, then at most ``length`` tracks.
        _, first = np.unique(owner * len(order) + track, return_index=True)
        keep = np.zeros(len(owner), dtype=bool)
        keep[first] = True
        owner, track = owner[keep], track[keep]
        rank = np.arange(len(owner)) - np.searchsorted(owner, owner)
        keep = rank < lengths[owner]
        owner, track = owner[keep], track[keep]
        need = np.where(finished, 0, lengths - np.bincount(owner, minlength=n))
        finished |= need == 0
        complete = finished[owner]
        done_owner.append(owner[complete])
        done_track.append(track[complete])
        owner, track = owner[~complete], track[~complete]
        short = np.flatnonzero(need > 0)
        if not len(short):
            break
    owner = np.concatenate(done_owner + [owner])
    track = np.concatenate(done_track + [track])
    by_owner = np.argsort(owner, kind="stable")
    owner, track = owner[by_owner], track[by_owner]
    lengths = np.bincount(owner, minlength=n)
    return main, lengths, track


def _title(rng: np.random.Generator, genre: int) -> str:
    words = list(GENRES.values())[genre]
    style = rng.integers(0, 5)
    w1, w2 = words[rng.integers(0, len(words))], words[rng.integers(0, len(words))]
    generic = _GENERIC_TITLE[rng.integers(0, len(_GENERIC_TITLE))]
    title = (w1, f"{w1} {generic}", f"{w1} {w2}", f"{generic} {w1}", f"{w1}!!")[style]
    case = rng.integers(0, 3)
    return (title, title.lower(), _title_case(title))[case]


def generate_slices(playlists: int, seed: int = 0,
                    n_tracks: int | None = None) -> Iterator[tuple[str, bytes]]:
    """Yield ``(file name, JSON bytes)`` per slice of 1,000 playlists (the last may be short).

    The catalog has about ``n_tracks`` tracks (default ``max(20000, 1.5 * playlists)``, which
    keeps each track in a few dozen playlists on average, like the real MPD).
    """
    if playlists < 1:
        raise ValueError("playlists must be at least 1")
    rng = np.random.default_rng(seed)
    catalog = build_catalog(rng, n_tracks or max(20_000, int(1.5 * playlists)))
    fragments = _track_fragments(catalog)
    genres, lengths, tracks = _sample_playlists(rng, catalog, playlists)
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    followers = np.minimum(rng.zipf(2.0, size=playlists), 50_000)
    edits = rng.integers(1, 40, size=playlists)
    modified = rng.integers(1_300_000_000, 1_509_494_400, size=playlists)
    collaborative = rng.random(playlists) < 0.02
    has_description = rng.random(playlists) < 0.02
    pad_pl, pad_tr = b"\n" + b" " * 12, b"\n" + b" " * 16
    # Each track entry is a ``pos`` opener plus the track's pre-rendered fields.
    openers = [(b"," if pos else b"") + pad_tr + b'{\n' + b" " * 20 + b'"pos": '
               + str(pos).encode() for pos in range(MAX_TRACKS + 1)]

    for start in range(0, playlists, SLICE_SIZE):
        end = min(start + SLICE_SIZE, playlists)
        name = f"mpd.slice.{start}-{start + SLICE_SIZE - 1}.json"
        parts = [b'{\n    "info": {\n        "generated_on": "2017-12-03 08:41:42.057563",\n'
                 b'        "slice": "' + f"{start}-{start + SLICE_SIZE - 1}".encode()
                 + b'",\n        "version": "v1"\n    },\n    "playlists": [']
        for pid in range(start, end):
            ids = tracks[offsets[pid]:offsets[pid + 1]]
            title = _title(rng, int(genres[pid]))
            head = [("name", title), ("collaborative", "true" if collaborative[pid] else "false"),
                    ("pid", pid), ("modified_at", int(modified[pid])),
                    ("num_tracks", len(ids)),
                    ("num_albums", len({catalog.album_uri[t] for t in ids})),
                    ("num_followers", int(followers[pid]))]
            if has_description[pid]:
                head.append(("description", f"my favorite {title.lower()} songs"))
            tail = [("num_edits", int(edits[pid])),
                    ("duration_ms", int(catalog.duration_ms[ids].sum())),
                    ("num_artists", len({catalog.artist_uri[t] for t in ids}))]
            body = [(b"\n        {" if pid == start else b",\n        {")]
            body.append(b",".join(pad_pl + orjson.dumps(k) + b": " + orjson.dumps(v)
                                  for k, v in head))
            body.append(b"," + pad_pl + b'"tracks": [')
            body.append(b"".join(chain.from_iterable(
                zip(openers, map(fragments.__getitem__, ids.tolist())))))
            body.append(pad_pl + b"],")
            body.append(b",".join(pad_pl + orjson.dumps(k) + b": " + orjson.dumps(v)
                                  for k, v in tail))
            body.append(b"\n        }")
            parts.append(b"".join(body))
        parts.append(b"\n    ]\n}\n")
        yield name, b"".join(parts)


def write_slices(out_dir: str | Path, playlists: int, seed: int = 0,
                 n_tracks: int | None = None) -> list[Path]:
    """Write the slices of :func:`generate_slices` into ``out_dir``; return their paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, data in generate_slices(playlists, seed, n_tracks):
        path = out / name
        path.write_bytes(data)
        paths.append(path)
    return paths

"""From the processed tables to :class:`~llara_training.data.TrainingData`: a deterministic
train/validation/test split of playlists, and evaluation cases built the way the RecSys
Challenge 2018 built its challenge set.

* A playlist's split is a stable hash (blake2b, not Python's salted ``hash``) of ``(seed, pid)``:
  the same pid lands in the same split on every machine and every run, whatever else the data
  holds.
* Every validation/test playlist becomes one :class:`~llara_training.data.Case` of one of the
  ten challenge categories (challenge set readme,
  https://recsys-challenge.spotify.com/challenge_readme): its seeds are what a recommender sees,
  the rest of the playlist is what it must find.
* Only train playlists reach ``train_items`` (and so ``user_items()``): a track that occurs
  only in validation/test playlists is in the catalog, but cold.
"""
from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from llara.schemas import track_text
from llara_training.data import Case, Catalog, TrainingData


@dataclass(frozen=True)
class CategorySpec:
    """One challenge category: how many seeds, whether the title is shown, first or random.

    ``min_tracks``/``max_tracks`` are the playlist lengths the official challenge set used for
    the category (observed in its metadata, ``../shared/mpd-sample/challenge_set_info.csv``:
    e.g. title-only playlists have 10..50 tracks, 100-seed playlists 150..250).
    """

    name: str
    num_seeds: int
    with_title: bool
    random_seeds: bool
    min_tracks: int
    max_tracks: int

    def fits_challenge(self, num_tracks: int) -> bool:
        return self.min_tracks <= num_tracks <= self.max_tracks


CATEGORY_SPECS: tuple[CategorySpec, ...] = (
    CategorySpec("title_only", 0, True, False, 10, 50),
    CategorySpec("title_first_1", 1, True, False, 10, 78),
    CategorySpec("title_first_5", 5, True, False, 10, 100),
    CategorySpec("first_5", 5, False, False, 40, 100),
    CategorySpec("title_first_10", 10, True, False, 40, 100),
    CategorySpec("first_10", 10, False, False, 40, 100),
    CategorySpec("title_first_25", 25, True, False, 101, 250),
    CategorySpec("title_random_25", 25, True, True, 101, 250),
    CategorySpec("title_first_100", 100, True, False, 150, 250),
    CategorySpec("title_random_100", 100, True, True, 150, 250),
)
CATEGORIES: tuple[str, ...] = tuple(spec.name for spec in CATEGORY_SPECS)
SPEC_BY_NAME: dict[str, CategorySpec] = {spec.name: spec for spec in CATEGORY_SPECS}
# The listener with almost no history: what LLaRA++ exists for.
COLD_START_CATEGORIES: tuple[str, ...] = ("title_only", "title_first_1", "title_first_5",
                                          "first_5")

TRAIN, VALIDATION, TEST = "train", "validation", "test"


def stable_unit(*parts: object) -> float:
    """A number in [0, 1) from ``parts``, identical on every machine and Python process."""
    digest = hashlib.blake2b(":".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2.0**64


def split_of(pid: int, *, seed: int = 0, val_fraction: float = 0.1,
             test_fraction: float = 0.1) -> str:
    """Which split a playlist belongs to: ``train``, ``validation`` or ``test``."""
    u = stable_unit("split", seed, int(pid))
    if u < test_fraction:
        return TEST
    if u < test_fraction + val_fraction:
        return VALIDATION
    return TRAIN


# --------------------------------------------------------------------------------------------
# Evaluation cases


def _make_case(pid: int, title: str, items: np.ndarray, spec: CategorySpec, seed: int) -> Case:
    n = len(items)
    if spec.random_seeds:
        rng = np.random.default_rng(int(stable_unit("seeds", seed, pid) * 2**63))
        positions = np.sort(rng.choice(n, size=min(spec.num_seeds, n), replace=False))
    else:
        positions = np.arange(min(spec.num_seeds, n))
    seeds = tuple(int(i) for i in items[positions])
    rest = np.delete(items, positions)
    # A recommender never returns a seed, so a seed repeated later in the playlist is not
    # something it could find: hold-outs are the other tracks, first occurrence kept.
    seen = set(seeds)
    holdout = []
    for i in rest.tolist():
        if i not in seen:
            seen.add(i)
            holdout.append(i)
    return Case(pid=int(pid), category=spec.name, title=title if spec.with_title else None,
                seeds=seeds, holdout=tuple(holdout))


def assign_cases(playlists: Iterable[tuple[int, str, np.ndarray]], *, seed: int = 0) -> list[Case]:
    """One case per playlist ``(pid, title, catalog indices in order)``, categories balanced.

    Playlists are visited in stable-hash order; each takes the least-filled category whose
    challenge length range it fits (ties broken by a per-pid hash), provided at least one
    track is left to hold out. A playlist no range fits (shorter than the challenge's 10
    tracks, say) falls back to any category that leaves it a hold-out; one that has none
    (every track a seed) yields no case. The result depends only on the playlists and
    ``seed``, never on their input order.
    """
    ordered = sorted(playlists, key=lambda p: (stable_unit("order", seed, p[0]), p[0]))
    filled = dict.fromkeys(CATEGORIES, 0)
    cases = []
    for pid, title, items in ordered:
        items = np.asarray(items, dtype=np.int64)
        fitting = [s for s in CATEGORY_SPECS if s.fits_challenge(len(items))]
        candidates = fitting or [s for s in CATEGORY_SPECS if len(items) > s.num_seeds]
        candidates.sort(key=lambda s: (filled[s.name], stable_unit("category", seed, pid, s.name)))
        for spec in candidates:
            case = _make_case(pid, title, items, spec, seed)
            if case.holdout:
                filled[spec.name] += 1
                cases.append(case)
                break
    return cases


def limit_cases(cases: Sequence[Case], max_cases: int | None) -> list[Case]:
    """At most ``max_cases`` cases, taken round-robin over categories so the mix stays even."""
    if max_cases is None or len(cases) <= max_cases:
        return list(cases)
    queues = {name: [c for c in cases if c.category == name] for name in CATEGORIES}
    chosen: list[Case] = []
    depth = 0
    while len(chosen) < max_cases:
        layer = [q[depth] for q in queues.values() if depth < len(q)]
        chosen.extend(layer[: max_cases - len(chosen)])
        depth += 1
    order = {name: i for i, name in enumerate(CATEGORIES)}
    return sorted(chosen, key=lambda c: order[c.category])


# --------------------------------------------------------------------------------------------
# From the processed tables


def _table(tables, name: str):
    """``read_processed`` may hand back a mapping or an object with table attributes."""
    if isinstance(tables, Mapping):
        return tables[name]
    return getattr(tables, name)


def catalog_from_tracks(tracks) -> Catalog:
    """Every track of the ``tracks`` table, sorted by URI (the first row of a repeated URI)."""
    cols = set(tracks.column_names)
    uris = np.asarray(tracks.column("track_uri").to_pylist(), dtype=object)
    uris_sorted, first = np.unique(uris.astype(str), return_index=True)
    names = np.asarray(tracks.column("track_name").to_pylist(), dtype=object)[first]
    artists = np.asarray(tracks.column("artist_name").to_pylist(), dtype=object)[first]
    albums = (np.asarray(tracks.column("album_name").to_pylist(), dtype=object)[first]
              if "album_name" in cols else np.full(len(first), None, dtype=object))
    if "text" in cols:
        texts = np.asarray(tracks.column("text").to_pylist(), dtype=object)[first]
    else:
        texts = np.array([track_text(t, a, al) for t, a, al in zip(names, artists, albums)],
                         dtype=object)
    return Catalog.from_columns(uris_sorted.astype(object), names, artists, albums, texts)


def _playlist_items(interactions, catalog: Catalog) -> tuple[np.ndarray, list[np.ndarray]]:
    """(pids, catalog indices of each playlist in ``pos`` order), pids ascending."""
    import pyarrow as pa
    import pyarrow.compute as pc

    ordered = interactions.sort_by([("pid", "ascending"), ("pos", "ascending")])
    index = pc.index_in(ordered.column("track_uri"),
                        value_set=pa.array(catalog.uris.tolist(), type=pa.string()))
    missing = index.null_count
    if missing:
        examples = pc.filter(ordered.column("track_uri"), pc.is_null(index)).unique()[:3]
        raise ValueError(f"{missing} interactions name tracks absent from the tracks table "
                         f"(e.g. {examples.to_pylist()}): the processed data is inconsistent")
    idx = index.to_numpy(zero_copy_only=False).astype(np.int64)
    pids = ordered.column("pid").to_numpy(zero_copy_only=False).astype(np.int64)
    unique_pids, starts = np.unique(pids, return_index=True)
    return unique_pids, np.split(idx, starts[1:]) if len(idx) else []


def build_dataset(tables, *, seed: int = 0, val_fraction: float = 0.1,
                  test_fraction: float = 0.1, max_cases: int | None = None) -> TrainingData:
    """Split the processed tables into train playlists and validation/test cases.

    ``tables`` has ``interactions``, ``tracks`` and ``playlists`` pyarrow tables (what
    ``llara.processed.read_processed`` returns). ``max_cases`` caps the validation and the
    test cases each (round-robin over categories); capped-out playlists still stay out of
    training.
    """
    if not (0 <= val_fraction and 0 <= test_fraction and val_fraction + test_fraction < 1):
        raise ValueError("val_fraction and test_fraction must be >= 0 and sum to less than 1")
    catalog = catalog_from_tracks(_table(tables, "tracks"))
    pids, items = _playlist_items(_table(tables, "interactions"), catalog)
    playlists = _table(tables, "playlists")
    titles = dict(zip(playlists.column("pid").to_pylist(), playlists.column("name").to_pylist()))

    train_pids, train_titles, train_items = [], [], []
    held_out: dict[str, list[tuple[int, str, np.ndarray]]] = {VALIDATION: [], TEST: []}
    for pid, playlist_items in zip(pids.tolist(), items):
        title = titles.get(pid) or ""
        part = split_of(pid, seed=seed, val_fraction=val_fraction, test_fraction=test_fraction)
        if part == TRAIN:
            train_pids.append(pid)
            train_titles.append(title)
            train_items.append(playlist_items)
        else:
            held_out[part].append((pid, title, playlist_items))
    return TrainingData(
        catalog=catalog,
        train_pids=np.asarray(train_pids, dtype=np.int64),
        train_titles=train_titles,
        train_items=train_items,
        val_cases=limit_cases(assign_cases(held_out[VALIDATION], seed=seed), max_cases),
        test_cases=limit_cases(assign_cases(held_out[TEST], seed=seed), max_cases),
    )


# --------------------------------------------------------------------------------------------
# Any MPD playlists (``llara evaluate``)


def extend_catalog(catalog: Catalog, tracks) -> Catalog:
    """``catalog`` plus the rows of the ``tracks`` table it lacks, appended (sorted by URI), so
    existing indices keep their meaning and trained artifacts still line up."""
    extra = catalog_from_tracks(tracks)
    new = np.array([u not in catalog.index for u in extra.uris], dtype=bool)
    if not new.any():
        return catalog
    return Catalog.from_columns(*(np.concatenate([old, add[new]]) for old, add in (
        (catalog.uris, extra.uris), (catalog.track_names, extra.track_names),
        (catalog.artist_names, extra.artist_names), (catalog.album_names, extra.album_names),
        (catalog.texts, extra.texts))))


def cases_from_tables(tables, catalog: Catalog, *, seed: int = 0) -> tuple[Catalog, list[Case]]:
    """Evaluation cases for arbitrary MPD playlists (as processed tables, e.g. from
    ``llara.etl.transform``): every playlist is a case, against ``catalog`` extended with the
    tracks it has never seen so their hold-outs can still be found. Same categories and
    balancing as the test split; a playlist with nothing to hold out yields no case."""
    extended = extend_catalog(catalog, _table(tables, "tracks"))
    pids, items = _playlist_items(_table(tables, "interactions"), extended)
    playlists = _table(tables, "playlists")
    titles = dict(zip(playlists.column("pid").to_pylist(), playlists.column("name").to_pylist()))
    rows = [(pid, titles.get(pid) or "", playlist_items)
            for pid, playlist_items in zip(pids.tolist(), items)]
    return extended, assign_cases(rows, seed=seed)

"""Read the processed tables back as one consolidated dataset, and count what the store holds.

Duplicates across sources are resolved deterministically, so a rebuild or a replayed event
gives the same result byte for byte:

* a ``pid`` seen in several sources keeps the playlist and interactions of the **newest
  source**, where sources are ordered by their name (the raw key below ``raw/``) in natural
  order: digit runs compare as numbers (``mpd.slice.2000-2999`` is newer than
  ``mpd.slice.1000-1999``; name uploads with a date or sequence prefix to express recency).
  Upload times are not used: they differ between a replay and the original;
* a ``track_uri`` keeps its **most complete row** (most of album_name, artist_uri, album_uri,
  duration_ms filled), ties going to the newest source.
"""
from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import orjson
import pyarrow as pa

from llara.store import ObjectNotFound, Store
from llara.tables import (
    PROCESSED_PREFIX,
    QUARANTINE_PREFIX,
    SCHEMAS,
    TRACK_DETAIL_COLUMNS,
    from_parquet,
    partition_key,
)

STATUS_KEYS = ("slices", "playlists", "interactions", "tracks", "quarantined_playlists",
               "quarantined_files")


@dataclass
class Processed:
    interactions: pa.Table
    tracks: pa.Table
    playlists: pa.Table


def natural_key(name: str) -> tuple:
    """Sort key comparing digit runs as numbers: 'a.2000' < 'a.10000'."""
    return tuple((0, int(part), "") if part.isdigit() else (1, 0, part)
                 for part in re.split(r"(\d+)", name) if part)


def list_sources(store: Store) -> list[str]:
    """Sources with landed playlists, oldest first (see the module docstring)."""
    prefix = f"{PROCESSED_PREFIX}playlists/"
    names = [k[len(prefix):-len(".parquet")] for k in store.list(prefix)
             if k.endswith(".parquet")]
    return sorted(names, key=natural_key)


def _read_source(store: Store, source: str,
                 columns: dict[str, list[str] | None]) -> dict[str, pa.Table] | None:
    try:
        return {name: from_parquet(store.get_bytes(partition_key(name, source)), name, cols)
                for name, cols in columns.items()}
    except ObjectNotFound:  # removed while we read (the raw object turned unreadable)
        return None


def read_processed(store: Store, columns: dict[str, list[str] | None] | None = None,
                   workers: int = 8) -> Processed:
    """The union of all partitions with duplicates resolved.

    ``columns`` may narrow what is read per table (``{"tracks": ["track_uri"]}``); the
    columns resolution needs (pid, track_uri and the track details) are always read.
    """
    wanted: dict[str, list[str] | None] = {name: None for name in SCHEMAS}
    for name, cols in (columns or {}).items():
        need = {"interactions": ["pid"], "playlists": ["pid"],
                "tracks": ["track_uri", *TRACK_DETAIL_COLUMNS]}[name]
        wanted[name] = None if cols is None else list(dict.fromkeys([*need, *cols]))
    sources = list_sources(store)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        parts = list(pool.map(lambda s: _read_source(store, s, wanted), sources))
    loaded = [(rank, p) for rank, p in enumerate(parts) if p is not None]
    tables = {}
    for name in SCHEMAS:
        schema = SCHEMAS[name] if wanted[name] is None else pa.schema(
            [SCHEMAS[name].field(c) for c in wanted[name]])
        pieces = [p[name].append_column("_rank", pa.array(np.full(p[name].num_rows, rank,
                                                                   np.int32)))
                  for rank, p in loaded]
        tables[name] = pa.concat_tables(pieces) if pieces else schema.empty_table().append_column(
            "_rank", pa.array([], pa.int32()))
    return Processed(
        interactions=_newest_playlists_rows(tables["interactions"], tables["playlists"]),
        tracks=_most_complete_tracks(tables["tracks"]),
        playlists=_newest_playlists_rows(tables["playlists"], tables["playlists"]),
    )


def _newest_playlists_rows(table: pa.Table, playlists: pa.Table) -> pa.Table:
    """Rows of ``table`` that come from the newest source of their pid."""
    pid = playlists["pid"].to_numpy()
    rank = playlists["_rank"].to_numpy()
    if len(np.unique(pid)) == len(pid):  # no pid in two sources: nothing to resolve
        return table.drop_columns(["_rank"])
    order = np.lexsort((rank, pid))
    last = np.ones(len(order), dtype=bool)
    last[:-1] = pid[order][1:] != pid[order][:-1]
    winners_pid, winners_rank = pid[order][last], rank[order][last]
    row_pid, row_rank = table["pid"].to_numpy(), table["_rank"].to_numpy()
    at = np.searchsorted(winners_pid, row_pid)
    keep = winners_rank[at] == row_rank
    return table.filter(pa.array(keep)).drop_columns(["_rank"])


def _most_complete_tracks(tracks: pa.Table) -> pa.Table:
    """One row per track_uri: most details filled first, then the newest source; rows keep
    the order in which their track first appears."""
    tracks = tracks.combine_chunks()
    codes = tracks["track_uri"].chunk(0).dictionary_encode().indices.to_numpy() if \
        tracks.num_rows else np.empty(0, np.int32)
    completeness = sum(tracks[c].is_valid().to_numpy(zero_copy_only=False).astype(np.int8)
                       for c in TRACK_DETAIL_COLUMNS)
    rank = tracks["_rank"].to_numpy()
    order = np.lexsort((-rank, -completeness, codes))  # by code; best row first in each
    first = np.ones(len(order), dtype=bool)
    first[1:] = codes[order][1:] != codes[order][:-1]
    return tracks.take(pa.array(order[first])).drop_columns(["_rank"])


def store_status(store: Store) -> dict[str, int]:
    """The counts ``llara status --json`` prints, duplicates resolved."""
    data = read_processed(store, columns={"interactions": ["pid"], "playlists": ["pid"],
                                          "tracks": ["track_uri"]})
    quarantined_playlists = quarantined_files = 0
    for key in store.list(QUARANTINE_PREFIX):
        if key.endswith(".reason.json"):
            quarantined_files += 1
        elif key.endswith(".jsonl"):
            quarantined_playlists += store.get_bytes(key).count(b"\n")
    return {
        "slices": len(list_sources(store)),
        "playlists": data.playlists.num_rows,
        "interactions": data.interactions.num_rows,
        "tracks": data.tracks.num_rows,
        "quarantined_playlists": quarantined_playlists,
        "quarantined_files": quarantined_files,
    }


def read_quarantine(store: Store) -> dict[str, list[dict]]:
    """Quarantine entries per source: rejected playlists and unreadable-object reasons."""
    out: dict[str, list[dict]] = {}
    for key in store.list(QUARANTINE_PREFIX):
        name = key[len(QUARANTINE_PREFIX):]
        if key.endswith(".reason.json"):
            out.setdefault(name[:-len(".reason.json")], []).append(
                orjson.loads(store.get_bytes(key)))
        elif key.endswith(".jsonl"):
            out.setdefault(name[:-len(".jsonl")], []).extend(
                orjson.loads(line) for line in store.get_bytes(key).splitlines() if line)
    return out

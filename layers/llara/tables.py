"""Arrow schemas of the processed tables (docs/contracts.md), written by ``llara.etl`` and read
by ``llara.processed``, training and evaluation. Change them only together with both sides."""
from __future__ import annotations

import io

import pyarrow as pa
import pyarrow.parquet as pq

PROCESSED_PREFIX = "processed/"
QUARANTINE_PREFIX = "quarantine/"

INTERACTIONS = pa.schema([
    pa.field("pid", pa.int64(), nullable=False),
    pa.field("pos", pa.int32(), nullable=False),  # 0-based order in the playlist
    pa.field("track_uri", pa.string(), nullable=False),
])

TRACKS = pa.schema([
    pa.field("track_uri", pa.string(), nullable=False),
    pa.field("track_name", pa.string(), nullable=False),
    pa.field("artist_name", pa.string(), nullable=False),
    pa.field("album_name", pa.string()),
    pa.field("artist_uri", pa.string()),
    pa.field("album_uri", pa.string()),
    pa.field("duration_ms", pa.int64()),
    pa.field("text", pa.string(), nullable=False),  # llara.schemas.track_text(...)
])

PLAYLISTS = pa.schema([
    pa.field("pid", pa.int64(), nullable=False),
    pa.field("name", pa.string(), nullable=False),
    pa.field("description", pa.string()),
    pa.field("num_followers", pa.int64()),
    pa.field("num_edits", pa.int64()),
    pa.field("num_tracks", pa.int32(), nullable=False),  # tracks that landed, not the claim
    pa.field("modified_at", pa.int64()),
    pa.field("collaborative", pa.bool_()),
    pa.field("source", pa.string(), nullable=False),  # the raw key below raw/
])

SCHEMAS: dict[str, pa.Schema] = {
    "interactions": INTERACTIONS,
    "tracks": TRACKS,
    "playlists": PLAYLISTS,
}
# Optional track columns: the more of them a row fills, the more complete it is.
TRACK_DETAIL_COLUMNS = ("album_name", "artist_uri", "album_uri", "duration_ms")


def source_name(raw_key: str, raw_prefix: str = "raw/") -> str:
    """The partition name of a raw object: its key below ``raw/`` with '/' replaced by '__'."""
    return raw_key[len(raw_prefix):].replace("/", "__")


def partition_key(table: str, source: str) -> str:
    return f"{PROCESSED_PREFIX}{table}/{source}.parquet"


def quarantine_records_key(source: str) -> str:
    return f"{QUARANTINE_PREFIX}{source}.jsonl"


def quarantine_reason_key(source: str) -> str:
    return f"{QUARANTINE_PREFIX}{source}.reason.json"


# zstd makes large partitions about a quarter smaller than snappy, but its per-file setup
# costs more than the whole write of a small partition (trimmed real slices hold ~8 playlists).
ZSTD_MIN_ROWS = 10_000


def to_parquet(table: pa.Table) -> bytes:
    """Deterministic Parquet bytes: the same table always gives the same bytes (replays)."""
    buf = io.BytesIO()
    compression = "zstd" if table.num_rows >= ZSTD_MIN_ROWS else "snappy"
    pq.write_table(table, buf, compression=compression, write_statistics=True)
    return buf.getvalue()


def from_parquet(data: bytes, name: str, columns: list[str] | None = None) -> pa.Table:
    """Read a partition of table ``name``, cast to its contract schema."""
    # ParquetFile.read: pq.read_table sets up dataset machinery that costs ~5x more per file.
    table = pq.ParquetFile(pa.BufferReader(data)).read(columns=columns)
    schema = SCHEMAS[name]
    if columns is not None:
        schema = pa.schema([schema.field(c) for c in columns])
    return table if table.schema.equals(schema) else table.cast(schema)

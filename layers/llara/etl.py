"""Upload-triggered ETL: an MPD slice in ``raw/`` becomes three Parquet partitions.

One handler, :func:`handle_event`, serves every wiring (Chalice ``on_s3_event``, the MinIO
webhook route, the OpenWhisk action, ``llara ingest`` and the SQS :func:`drain_queue`). It accepts
AWS S3 notifications, MinIO webhook payloads, Chalice ``S3Event`` objects, and those records
wrapped in SQS or SNS messages. Only ``ObjectCreated`` events under the raw prefix are processed;
everything else (deletes, ``s3:TestEvent``, other prefixes) is acknowledged and ignored.

Per object (:func:`process_object`):

* the bytes are parsed once with orjson; an object that cannot be read as a slice (0 bytes,
  not UTF-8, not JSON or truncated, wrong top-level shape, no playlists) gets
  ``quarantine/<source>.reason.json`` and its stale partitions are removed; raw stays untouched;
* playlists are validated in bulk, column by column, against rules compiled from the pydantic
  models of ``llara.schemas`` (:func:`compile_rules`: per-object pydantic would cost more than
  the parse); the few playlists flagged are re-validated by pydantic itself, whose verdict and
  error text are final, plus one storage rule (integers must fit int64). A rejected playlist goes to
  ``quarantine/<source>.jsonl`` with its reason and raw record; its neighbours land;
* ``processed/{interactions,tracks,playlists}/<source>.parquet`` are written atomically with
  deterministic bytes, so a replay, or two concurrent runs, leave the same single partition.
"""
from __future__ import annotations

import hmac
import logging
import time
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import unquote_plus

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import BaseModel, ValidationError

from llara.schemas import Playlist, SliceInfo, Track, track_text
from llara.store import ObjectNotFound, S3Store, Store, StoreError, open_store
from llara.tables import (
    INTERACTIONS,
    PLAYLISTS,
    SCHEMAS,
    TRACK_DETAIL_COLUMNS,
    TRACKS,
    partition_key,
    quarantine_reason_key,
    quarantine_records_key,
    source_name,
    to_parquet,
)
from llara.web import HttpError, Request, Response

log = logging.getLogger("llara.etl")


class EventError(ValueError):
    """The event is not one of the accepted notification shapes."""


# --------------------------------------------------------------------------------------------
# Bulk validation, compiled from the pydantic models (one schema per concept)
# --------------------------------------------------------------------------------------------

_JSON_TYPES = {"string": str, "integer": int, "boolean": bool, "null": type(None),
               "array": list, "object": dict}
_KNOWN_KEYWORDS = {"type", "title", "description", "default", "pattern", "maxLength", "minimum",
                   "anyOf", "items", "minItems", "$ref"}


@dataclass(frozen=True)
class FieldRule:
    """What one field of a model accepts: exact Python types (strict mode: no coercion, so a
    bool is not an int) and the constraints of its string / integer variants."""

    name: str
    required: bool
    types: frozenset[type]
    pattern: str | None = None
    max_length: int | None = None
    minimum: int | None = None


def compile_rules(model: type[BaseModel], skip: tuple[str, ...] = ()) -> tuple[FieldRule, ...]:
    """Turn ``model``'s JSON schema into per-field rules. Any keyword this compiler does not
    implement raises, so the bulk path can never silently accept what the model rejects."""
    schema = model.model_json_schema()
    required = set(schema.get("required", ()))
    rules = []
    for name, prop in schema["properties"].items():
        if name in skip:
            continue
        types, constraints = set(), {}
        for variant in prop.get("anyOf", [prop]):
            unknown = set(variant) - _KNOWN_KEYWORDS
            if unknown or "$ref" in variant or "items" in variant:
                raise TypeError(f"{model.__name__}.{name}: bulk validation does not implement "
                                f"{sorted(unknown) or variant}; extend llara.etl.compile_rules")
            types.add(_JSON_TYPES[variant["type"]])
            for key in ("pattern", "maxLength", "minimum"):
                if key in variant:
                    constraints[key] = variant[key]
        rules.append(FieldRule(name, name in required, frozenset(types),
                               constraints.get("pattern"), constraints.get("maxLength"),
                               constraints.get("minimum")))
    return tuple(rules)


INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
_ARROW_TYPES = {str: pa.string(), int: pa.int64()}


def _values(rows: list[dict], rule: FieldRule) -> list[Any]:
    """The field of every row; an absent key reads as None where the schema treats it so."""
    if not rule.required and type(None) in rule.types:
        return [r.get(rule.name) for r in rows]
    return [r.get(rule.name, _MISSING) for r in rows]


def _check(values: list[Any], rule: FieldRule) -> tuple[np.ndarray, pa.Array | None]:
    """Rows ``rule`` rejects, and the field as an Arrow column (rejected values null) when it
    has a single scalar type; None for mixed-type fields."""
    bad = np.zeros(len(values), dtype=bool)
    allowed = rule.types if rule.required else rule.types | {_Missing}
    clean = set(map(type, values)) <= allowed  # the common case costs one C-level pass
    if not clean:
        bad |= np.fromiter((type(v) not in allowed for v in values), bool, len(values))
    scalar = rule.types - {type(None)}
    column = None
    if len(scalar) == 1 and (kind := next(iter(scalar))) in _ARROW_TYPES:
        typed = values if clean and _Missing not in map(type, values) else [
            v if type(v) is kind else None for v in values]
        try:
            column = pa.array(typed, _ARROW_TYPES[kind])
        except OverflowError:  # Python ints are unbounded; the tables hold int64
            wide = np.fromiter((type(v) is int and not INT64_MIN <= v <= INT64_MAX
                                for v in typed), bool, len(typed))
            bad |= wide
            column = pa.array([None if w else v for v, w in zip(typed, wide)], pa.int64())
    elif rule.pattern or rule.max_length is not None or rule.minimum is not None:
        raise TypeError(f"{rule.name}: constraints on a mixed-type field are not implemented")
    if rule.pattern is not None:
        ok = pc.match_substring_regex(column, rule.pattern)
        bad |= ~ok.fill_null(True).to_numpy(zero_copy_only=False)
    if rule.max_length is not None:
        too_long = pc.greater(pc.utf8_length(column), rule.max_length)
        bad |= too_long.fill_null(False).to_numpy(zero_copy_only=False)
    if rule.minimum is not None:
        low = pc.less(column, rule.minimum)
        bad |= low.fill_null(False).to_numpy(zero_copy_only=False)
    return bad, column


def _int64_reason(record: Any) -> str | None:
    """The storage rule on top of the schema: integers must fit the tables' int64 columns."""
    fields = [("", record)] + [(f"tracks.{i}.", t) for i, t in
                                enumerate(record.get("tracks") or ()) if isinstance(t, dict)]
    for prefix, obj in fields:
        for name, value in obj.items():
            if type(value) is int and not INT64_MIN <= value <= INT64_MAX:
                return f"{prefix}{name}: {value} does not fit a 64-bit integer"
    return None


class _Missing:
    """Marks an absent key (distinct from an explicit JSON null)."""


_MISSING = _Missing()
PLAYLIST_RULES = compile_rules(Playlist, skip=("tracks",))
TRACK_RULES = compile_rules(Track)
_TRACKS_FIELD = Playlist.model_json_schema()["properties"]["tracks"]
_MIN_TRACKS = _TRACKS_FIELD.get("minItems", 0)


def _schema_reason(record: Any) -> str | None:
    """pydantic's verdict on one playlist: None if valid, else a one-line reason."""
    try:
        Playlist.model_validate(record)
        return None
    except ValidationError as e:
        errors = e.errors(include_url=False, include_input=False)
        parts = [f"{'.'.join(map(str, err['loc'])) or 'playlist'}: {err['msg']}"
                 for err in errors[:3]]
        more = f" (+{len(errors) - 3} more)" if len(errors) > 3 else ""
        return "; ".join(parts) + more


# --------------------------------------------------------------------------------------------
# One slice: bytes -> tables + rejects
# --------------------------------------------------------------------------------------------


class UnreadableObject(ValueError):
    """The object cannot be read as an MPD slice at all."""


@dataclass
class Rejected:
    index: int
    reason: str
    record: Any


@dataclass
class SliceResult:
    tables: dict[str, pa.Table]
    rejected: list[Rejected]
    playlists_in: int

    @property
    def playlists_ok(self) -> int:
        return self.tables["playlists"].num_rows


def parse_slice(data: bytes) -> list[Any]:
    """The ``playlists`` list of a slice, or UnreadableObject with a reason."""
    if not data:
        raise UnreadableObject("empty object (0 bytes)")
    try:
        doc = orjson.loads(data)
    except orjson.JSONDecodeError as e:
        try:
            data.decode("utf-8")
        except UnicodeDecodeError as u:
            raise UnreadableObject(f"not UTF-8: {u}") from None
        raise UnreadableObject(f"not valid JSON (malformed or truncated): {e}") from None
    if not isinstance(doc, dict):
        raise UnreadableObject(f"top level is a JSON {type(doc).__name__}, expected an object "
                               'with "info" and "playlists"')
    playlists = doc.get("playlists", _MISSING)
    if playlists is _MISSING:
        raise UnreadableObject('no "playlists" key at the top level')
    if not isinstance(playlists, list):
        raise UnreadableObject(f'"playlists" is a JSON {type(playlists).__name__}, '
                               "expected a list")
    if not playlists:
        raise UnreadableObject('"playlists" is empty')
    info = doc.get("info")
    if info is not None:
        try:
            SliceInfo.model_validate(info)
        except ValidationError as e:
            raise UnreadableObject(f'"info" is malformed: {e.errors()[0]["msg"]}') from None
    return playlists


def _collaborative(value: Any) -> bool | None:
    # The MPD writes "true"/"false" strings; the schema also allows a JSON bool.
    if type(value) is bool:
        return value
    if type(value) is str:
        return {"true": True, "false": False}.get(value.lower())
    return None


def transform(playlists: list[Any], source: str) -> SliceResult:
    """Validate ``playlists`` in bulk and build the three tables of one source."""
    n = len(playlists)
    is_dict = np.fromiter((type(p) is dict for p in playlists), bool, n)
    records = [p if ok else {} for p, ok in zip(playlists, is_dict)]
    flagged = ~is_dict
    # Playlist fields.
    columns: dict[str, pa.Array | list[Any]] = {}
    for rule in PLAYLIST_RULES:
        values = _values(records, rule)
        bad, column = _check(values, rule)
        flagged |= bad
        columns[rule.name] = values if column is None else column
    track_lists = [p.get("tracks", _MISSING) for p in records]
    is_list = np.fromiter((type(t) is list for t in track_lists), bool, n)
    track_lists = [t if ok else [] for t, ok in zip(track_lists, is_list)]
    counts = np.fromiter(map(len, track_lists), np.int64, n)
    flagged |= ~is_list | (counts < _MIN_TRACKS)
    # Track fields, over all tracks of the slice at once.
    flat = [t for tracks in track_lists for t in tracks]
    owner = np.repeat(np.arange(n), counts)
    track_is_dict = np.fromiter((type(t) is dict for t in flat), bool, len(flat))
    if not track_is_dict.all():
        flagged[np.unique(owner[~track_is_dict])] = True
        flat = [t if ok else {} for t, ok in zip(flat, track_is_dict)]
    track_columns: dict[str, pa.Array] = {}
    for rule in TRACK_RULES:
        bad, column = _check(_values(flat, rule), rule)
        if bad.any():
            flagged[np.unique(owner[bad])] = True
        track_columns[rule.name] = column
    del flat

    # The flagged few get pydantic's own verdict and words; duplicates of a landed pid follow.
    rejected: list[Rejected] = []
    keep = np.ones(n, dtype=bool)
    for i in np.flatnonzero(flagged):
        reason = _schema_reason(playlists[i]) or _int64_reason(playlists[i])
        if reason is None:
            log.warning("bulk validation flagged playlist %d of %s, pydantic accepts it", i,
                        source)
        else:
            keep[i] = False
            rejected.append(Rejected(int(i), reason, playlists[i]))
    first_index: dict[int, int] = {}
    pids = columns["pid"].to_numpy(zero_copy_only=False)
    for i in np.flatnonzero(keep):
        pid = int(pids[i])
        if pid in first_index:
            keep[i] = False
            rejected.append(Rejected(int(i), f"duplicate pid {pid} (first at index "
                                     f"{first_index[pid]})", playlists[i]))
        else:
            first_index[pid] = int(i)
    rejected.sort(key=lambda r: r.index)
    return SliceResult(_build_tables(columns, track_columns, counts, keep, source), rejected, n)


def _build_tables(columns: dict[str, Any], track_columns: dict[str, pa.Array],
                  counts: np.ndarray, keep: np.ndarray, source: str) -> dict[str, pa.Table]:
    kept_counts = counts[keep]
    keep_rows = pa.array(keep)
    keep_tracks = pa.array(np.repeat(keep, counts))
    pids = columns["pid"].filter(keep_rows)
    total = int(kept_counts.sum())
    starts = np.repeat(np.cumsum(kept_counts) - kept_counts, kept_counts)
    uri = track_columns["track_uri"].filter(keep_tracks)
    interactions = pa.table({
        "pid": pa.array(np.repeat(pids.to_numpy(), kept_counts), pa.int64()),
        "pos": pa.array((np.arange(total) - starts).astype(np.int32), pa.int32()),
        "track_uri": uri,
    }, schema=INTERACTIONS)
    collaborative = [_collaborative(v) for v, ok in zip(columns["collaborative"], keep) if ok]
    playlists = pa.table({
        "pid": pids,
        **{name: columns[name].filter(keep_rows)
           for name in ("name", "description", "num_followers", "num_edits")},
        "num_tracks": pa.array(kept_counts.astype(np.int32), pa.int32()),
        "modified_at": columns["modified_at"].filter(keep_rows),
        "collaborative": pa.array(collaborative, pa.bool_()),
        "source": pa.array([source] * len(pids), pa.string()),
    }, schema=PLAYLISTS)
    tracks = {name: track_columns[name].filter(keep_tracks)
              for name in ("track_name", "artist_name", *TRACK_DETAIL_COLUMNS)}
    return {"interactions": interactions, "tracks": _tracks(uri, tracks),
            "playlists": playlists}


def _tracks(uri: pa.Array, columns: dict[str, pa.Array]) -> pa.Table:
    """One row per track_uri of the slice: the most complete one (the first among equals)."""
    completeness = sum(columns[name].is_valid().to_numpy(zero_copy_only=False).astype(np.int8)
                       for name in TRACK_DETAIL_COLUMNS)
    rows = pa.table({"track_uri": uri, "score": pa.array(-completeness),
                     "row": pa.array(np.arange(len(uri)))})
    order = pc.sort_indices(rows, sort_keys=[("track_uri", "ascending"), ("score", "ascending"),
                                             ("row", "ascending")])
    sorted_uri = uri.take(order).to_numpy(zero_copy_only=False)
    first = np.ones(len(sorted_uri), dtype=bool)
    first[1:] = sorted_uri[1:] != sorted_uri[:-1]
    pick = pa.array(order.to_numpy()[first])
    table = {"track_uri": uri.take(pick)}
    table.update({name: column.take(pick) for name, column in columns.items()})
    text = [track_text(t, a, b) for t, a, b in zip(table["track_name"].to_pylist(),
                                                   table["artist_name"].to_pylist(),
                                                   table["album_name"].to_pylist())]
    table["text"] = pa.array(text, pa.string())
    return pa.table(table, schema=TRACKS)


# --------------------------------------------------------------------------------------------
# One object in the store
# --------------------------------------------------------------------------------------------


@dataclass
class ObjectResult:
    key: str
    source: str
    status: str  # "processed" | "unreadable" | "missing"
    playlists_ok: int = 0
    playlists_quarantined: int = 0
    interactions: int = 0
    tracks: int = 0
    bytes: int = 0
    seconds: float = 0.0
    reason: str | None = None


def process_object(store: Store, key: str, raw_prefix: str = "raw/") -> ObjectResult:
    """Run the ETL on the raw object ``key`` of ``store`` (idempotent; safe to run twice at
    once: every output key and its bytes are a function of the object's content)."""
    started = time.perf_counter()
    source = source_name(key, raw_prefix)
    try:
        data = store.get_bytes(key)
    except ObjectNotFound:
        # Deleted (or not yet visible) since the event was sent: nothing to do.
        result = ObjectResult(key, source, "missing", reason="object not found")
        _log(result)
        return result
    size = len(data)
    try:
        playlists = parse_slice(data)
        del data  # the parsed document is what we keep in memory from here
        outcome = transform(playlists, source)
        del playlists
    except UnreadableObject as e:
        _write_unreadable(store, source, str(e), size)
        result = ObjectResult(key, source, "unreadable", bytes=size, reason=str(e),
                              seconds=time.perf_counter() - started)
        _log(result)
        return result
    # Data partitions first, playlists last: a source is visible once its playlists land.
    for name in ("interactions", "tracks", "playlists"):
        store.put_bytes(partition_key(name, source), to_parquet(outcome.tables[name]))
    records_key = quarantine_records_key(source)
    if outcome.rejected:
        lines = b"".join(orjson.dumps({"reason": r.reason, "index": r.index, "record": r.record},
                                      option=orjson.OPT_APPEND_NEWLINE)
                         for r in outcome.rejected)
        store.put_bytes(records_key, lines)
    else:
        store.delete(records_key)
    store.delete(quarantine_reason_key(source))
    result = ObjectResult(
        key, source, "processed", outcome.playlists_ok, len(outcome.rejected),
        outcome.tables["interactions"].num_rows, outcome.tables["tracks"].num_rows, size,
        time.perf_counter() - started)
    _log(result)
    return result


def _write_unreadable(store: Store, source: str, reason: str, size: int) -> None:
    store.put_bytes(quarantine_reason_key(source),
                    orjson.dumps({"source": source, "reason": reason, "size": size}))
    # Processed data reflects the object's current content: drop what an older version left.
    for name in SCHEMAS:
        store.delete(partition_key(name, source))
    store.delete(quarantine_records_key(source))


def _log(result: ObjectResult) -> None:
    entry = {"event": "etl.object", **asdict(result), "seconds": round(result.seconds, 4)}
    level = logging.WARNING if result.status == "unreadable" else logging.INFO
    log.log(level, "%s", orjson.dumps(entry).decode())


# --------------------------------------------------------------------------------------------
# Events
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ObjectEvent:
    name: str  # e.g. "ObjectCreated:Put" (the "s3:" prefix removed)
    bucket: str
    key: str  # URL-decoded


def parse_event(event: Any) -> tuple[list[ObjectEvent], list[str]]:
    """Object events in ``event`` and notes on parts that carry none (test events...)."""
    if hasattr(event, "to_dict") and not isinstance(event, dict):  # chalice.app.S3Event
        event = event.to_dict()
    if isinstance(event, (bytes, str)):
        try:
            event = orjson.loads(event)
        except orjson.JSONDecodeError as e:
            raise EventError(f"event is not JSON: {e}") from None
    if not isinstance(event, dict):
        raise EventError(f"event is a {type(event).__name__}, expected a JSON object")
    if event.get("Event") == "s3:TestEvent":
        return [], ["s3:TestEvent acknowledged"]
    records = event.get("Records")
    if isinstance(records, list):
        found, notes = [], []
        for record in records:
            sub_found, sub_notes = _parse_record(record)
            found += sub_found
            notes += sub_notes
        return found, notes
    if "EventName" in event and "Key" in event:  # a MinIO webhook payload without Records
        bucket, _, key = str(event["Key"]).partition("/")
        return [ObjectEvent(_event_name(event["EventName"]), bucket, unquote_plus(key))], []
    raise EventError("unrecognised event: expected S3 'Records', a MinIO 'EventName'/'Key' "
                     "payload, or an s3:TestEvent")


def _event_name(name: Any) -> str:
    return str(name).removeprefix("s3:")


def _parse_record(record: Any) -> tuple[list[ObjectEvent], list[str]]:
    if not isinstance(record, dict):
        raise EventError("a record is not a JSON object")
    if "s3" in record:
        s3 = record["s3"]
        try:
            bucket, key = s3["bucket"]["name"], s3["object"]["key"]
        except (KeyError, TypeError):
            raise EventError("an S3 record lacks s3.bucket.name or s3.object.key") from None
        return [ObjectEvent(_event_name(record.get("eventName", "")), bucket,
                            unquote_plus(key))], []
    if record.get("eventSource") == "aws:sqs" and "body" in record:  # S3 -> SQS -> Lambda
        return parse_event(record["body"])
    if isinstance(record.get("Sns"), dict) and "Message" in record["Sns"]:  # S3 -> SNS
        return parse_event(record["Sns"]["Message"])
    raise EventError("a record is neither an S3, SQS nor SNS record")


_stores: dict[str, Store] = {}


def default_store() -> Store:
    """The configured store, created once per process and reused on warm starts."""
    from llara.config import get_settings

    url = get_settings().store_url
    if url not in _stores:
        _stores[url] = open_store(url)
    return _stores[url]


def _store_key(store: Store, bucket: str, key: str) -> str | None:
    """The store key of a bucket object, or None when the object is not in this store."""
    if isinstance(store, S3Store):
        if bucket != store.bucket or not key.startswith(store.prefix):
            return None
        return key[len(store.prefix):]
    return key  # a local folder stands for the bucket a local MinIO or ``llara ingest`` uses


def handle_event(event: Any, store: Store | None = None,
                 raw_prefix: str | None = None) -> dict[str, Any]:
    """Process the objects an event announces; return what happened to each.

    ``{"processed": [ObjectResult...], "ignored": [{"key", "reason"}...]}``
    """
    from llara.config import get_settings

    store = store or default_store()
    raw_prefix = raw_prefix or get_settings().raw_prefix
    events, notes = parse_event(event)
    processed, ignored = [], [{"key": None, "reason": note} for note in notes]
    seen: set[str] = set()
    for ev in events:
        key = _store_key(store, ev.bucket, ev.key)
        if not ev.name.startswith("ObjectCreated"):
            ignored.append({"key": ev.key, "reason": f"{ev.name or 'unnamed'} event"})
        elif key is None:
            ignored.append({"key": ev.key, "reason": f"not in store {store.url}"})
        elif not key.startswith(raw_prefix) or key.endswith("/"):
            ignored.append({"key": ev.key, "reason": f"not under {raw_prefix}"})
        elif key not in seen:  # one event may name an object twice
            seen.add(key)
            processed.append(asdict(process_object(store, key, raw_prefix)))
    return {"processed": processed, "ignored": ignored}


def object_created_event(store: Store, keys: Iterable[str]) -> dict[str, Any]:
    """An AWS-format ``ObjectCreated:Put`` notification for ``keys`` of ``store`` (what S3
    sends; ``llara ingest`` delivers it to :func:`handle_event`)."""
    from urllib.parse import quote_plus

    bucket = store.bucket if isinstance(store, S3Store) else "local"
    prefix = store.prefix if isinstance(store, S3Store) else ""
    return {"Records": [{
        "eventVersion": "2.1", "eventSource": "aws:s3", "eventName": "ObjectCreated:Put",
        "s3": {"bucket": {"name": bucket}, "object": {"key": quote_plus(prefix + key, safe="/")}},
    } for key in keys]}


# --------------------------------------------------------------------------------------------
# Deliveries: the MinIO webhook route and an SQS queue drainer
# --------------------------------------------------------------------------------------------


def webhook(request: Request) -> Response:
    """POST handler for MinIO webhook deliveries: ``Authorization: Bearer $LLARA_WEBHOOK_TOKEN``.

    With no token configured every delivery is refused: nothing is default-open.
    """
    from llara.config import get_settings

    token = get_settings().webhook_token
    auth = request.headers.get("authorization", "")
    scheme, _, presented = auth.partition(" ")
    if not token:
        raise HttpError(401, "webhook token not configured on the server (LLARA_WEBHOOK_TOKEN)")
    if scheme.lower() != "bearer" or not hmac.compare_digest(presented.strip().encode(),
                                                             token.encode()):
        raise HttpError(401, "missing or wrong bearer token")
    payload = request.json(max_bytes=1024 * 1024)
    try:
        return Response(200, handle_event(payload))
    except EventError as e:
        raise HttpError(400, str(e)) from None
    except StoreError as e:  # MinIO retries a failed delivery; tell it this one may succeed
        log.error("store unavailable: %s", e)
        raise HttpError(503, "object store unavailable, retry later") from None


def drain_queue(queue_url: str, store: Store | None = None, sqs=None,
                wait_seconds: int = 1, max_empty_polls: int = 1) -> Iterator[dict[str, Any]]:
    """Receive S3 notifications from an SQS queue, run :func:`handle_event` on each and
    delete the message once handled. Yields each outcome; stops after ``max_empty_polls``
    empty receives. A message whose handling raises stays in the queue for a retry."""
    if sqs is None:
        import boto3

        sqs = boto3.client("sqs")
    empty = 0
    while empty < max_empty_polls:
        messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10,
                                       WaitTimeSeconds=wait_seconds).get("Messages", [])
        empty = 0 if messages else empty + 1
        for message in messages:
            try:
                outcome = handle_event(message["Body"], store)
            except EventError as e:
                outcome = {"processed": [], "ignored": [{"key": None, "reason": str(e)}]}
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
            yield outcome


__all__ = [
    "EventError", "ObjectEvent", "ObjectResult", "UnreadableObject", "compile_rules",
    "default_store", "drain_queue", "handle_event", "object_created_event", "parse_event",
    "parse_slice", "process_object", "transform", "webhook",
]

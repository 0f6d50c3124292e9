"""What /predict served, kept so that feedback can be joined back to its request.

A feedback event names only ``request_id`` and a track; to learn from it, training needs the
request's seed context (title, resolved seed uris, unknown seed texts) and which model version
answered (the canary evaluation counts feedback per version). /predict hands one small record
per request to :class:`ServedLog`, which buffers them in memory and writes them off the request
path as one JSON Lines object per batch::

    served/date=YYYY-MM-DD/<time_ns>-<uuid>.jsonl    one record per line

A batch is written when it holds ``max_records`` records or its oldest record is
``max_seconds`` old (a background timer), and at interpreter exit (``atexit``) and on
:meth:`close` (``llara serve`` calls it on SIGTERM/Ctrl-C), so a clean shutdown loses
nothing. Keys are unique (put-if-absent), so many warm functions never overwrite each other.
A write that fails puts its records back for the next attempt. ``max_records=1`` writes every
record synchronously (for runtimes that freeze between invocations and never run ``atexit``).
"""
from __future__ import annotations

import atexit
import datetime as dt
import logging
import threading
import time
import uuid
import weakref
from collections.abc import Iterator
from typing import Any

import orjson

from llara.store import Store

log = logging.getLogger("llara.served")
PREFIX = "served/"


class ServedLog:
    def __init__(self, store: Store, *, max_records: int = 256, max_seconds: float = 5.0):
        if max_records < 1:
            raise ValueError("max_records must be >= 1")
        self.store = store
        self.max_records = max_records
        self.max_seconds = max_seconds
        self._buffer: list[bytes] = []
        self._oldest = 0.0
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()  # one batch write at a time, in record order
        self._wake = threading.Event()
        self._closed = False
        self._timer: threading.Thread | None = None
        self.written = 0  # records written so far (for health checks and tests)
        ref = weakref.ref(self)
        atexit.register(lambda: (s := ref()) is not None and s.close())

    def record(self, **fields: Any) -> None:
        """Queue one served request (never blocks on the store unless ``max_records == 1``)."""
        line = orjson.dumps({**fields, "served_at": dt.datetime.now(dt.UTC).isoformat()})
        with self._lock:
            if not self._buffer:
                self._oldest = time.monotonic()
            self._buffer.append(line)
            full = len(self._buffer) >= self.max_records
            if self._timer is None and not self._closed and self.max_records > 1:
                self._timer = threading.Thread(target=self._run, name="llara-served-flush",
                                               daemon=True)
                self._timer.start()
        if self.max_records == 1:
            try:
                self.flush()
            except Exception as e:  # noqa: BLE001 - never fail a prediction over its record
                log.warning("writing a served record failed, kept for the next write: %s", e)
        elif full:
            self._wake.set()

    def _run(self) -> None:
        while not self._closed:
            with self._lock:
                age = time.monotonic() - self._oldest if self._buffer else 0.0
                due = bool(self._buffer) and (len(self._buffer) >= self.max_records
                                              or age >= self.max_seconds)
            if due:
                try:
                    self.flush()
                except Exception as e:  # noqa: BLE001 - keep the records, retry on the next tick
                    log.warning("writing served records failed, will retry: %s", e)
                    self._wake.wait(min(self.max_seconds, 1.0))
            self._wake.wait(max(0.05, self.max_seconds - age) if self._buffer else
                            self.max_seconds)
            self._wake.clear()

    def flush(self) -> str | None:
        """Write every queued record now; returns the key written (None if nothing was)."""
        with self._write_lock:
            with self._lock:
                batch, self._buffer = self._buffer, []
            if not batch:
                return None
            try:
                key = self._write(b"\n".join(batch) + b"\n")
            except Exception:
                with self._lock:  # back to the front, so nothing is lost and order is kept
                    self._buffer[:0] = batch
                raise
            self.written += len(batch)
            return key

    def _write(self, data: bytes) -> str:
        now = dt.datetime.now(dt.UTC)
        for _ in range(5):
            key = f"{PREFIX}date={now:%Y-%m-%d}/{time.time_ns()}-{uuid.uuid4().hex}.jsonl"
            if self.store.put_if_absent(key, data):
                return key
        raise RuntimeError("could not find a free key for served records")

    def close(self) -> None:
        """Stop the timer and write what is left (idempotent)."""
        self._closed = True
        self._wake.set()
        try:
            self.flush()
        except Exception as e:  # noqa: BLE001 - at exit, say what was lost
            log.error("could not write %d served records at shutdown: %s",
                      len(self._buffer), e)


def read_served(store: Store, prefix: str = PREFIX) -> Iterator[dict[str, Any]]:
    """Every served record in the store (any order across batches)."""
    for key in store.list(prefix):
        for line in store.get_bytes(key).splitlines():
            if line.strip():
                yield orjson.loads(line)

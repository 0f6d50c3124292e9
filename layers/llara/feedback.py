"""Feedback events, stored append-only as JSON Lines objects for retraining.

Each accepted request becomes its own object ``feedback/date=YYYY-MM-DD/<time>-<uuid>.jsonl``
written with put-if-absent, so concurrent writers (many warm functions) never overwrite each
other and nothing is lost; readers list a date partition and concatenate.
"""
from __future__ import annotations

import datetime as dt
import time
import uuid
from typing import Any

import orjson

from llara.schemas import FeedbackEvent
from llara.store import Store

PREFIX = "feedback/"


class FeedbackLog:
    def __init__(self, store: Store):
        self.store = store

    def append(self, events: list[FeedbackEvent], **context: Any) -> str:
        """Store ``events`` (one JSON object per line) as a new object; returns its key."""
        received = dt.datetime.now(dt.UTC)
        lines = b"".join(
            orjson.dumps({**event.model_dump(mode="json"), **context,
                          "received_at": received.isoformat()}) + b"\n"
            for event in events)
        for _ in range(5):  # a uuid4 collision is practically impossible; never overwrite anyway
            key = (f"{PREFIX}date={received:%Y-%m-%d}/"
                   f"{time.time_ns()}-{uuid.uuid4().hex}.jsonl")
            if self.store.put_if_absent(key, lines):
                return key
        raise RuntimeError("could not find a free feedback key")

    def read(self, date: str) -> list[dict[str, Any]]:
        """Every event of one ``YYYY-MM-DD`` partition."""
        events = []
        for key in self.store.list(f"{PREFIX}date={date}/"):
            events.extend(orjson.loads(line) for line in self.store.get_bytes(key).splitlines()
                          if line.strip())
        return events

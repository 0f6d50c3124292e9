"""The serving handlers: POST /predict, POST /feedback, GET /health.

Every adapter (Chalice routes in ``functions/app.py``, OpenWhisk actions in
``openwhisk/actions.py``, ``llara serve``) calls :meth:`Service.handle` with a
:class:`llara.web.Request`; this is the only place with serving logic. Each request writes
exactly one structured JSON log line.
"""
from __future__ import annotations

import hmac
import logging
import random
import sys
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

import orjson
from pydantic import BaseModel, ValidationError

from llara.config import Settings, get_settings
from llara.feedback import FeedbackLog
from llara.live import LiveModel
from llara.recommend import NothingToRecommendFrom, Recommender
from llara.served import ServedLog
from llara.schemas import (
    MAX_BODY_BYTES,
    FeedbackEvent,
    HealthResponse,
    PredictRequest,
    SeedMatch,
)
from llara.store import Store, open_store
from llara.web import HttpError, Request, Response, Router

request_log = logging.getLogger("llara.request")
Schema = TypeVar("Schema", bound=BaseModel)


def configure_logging(level: str = "INFO") -> None:
    """Request log lines go to stderr as bare JSON (one object per line)."""
    if not request_log.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        request_log.addHandler(handler)
        request_log.propagate = False
    request_log.setLevel(level)


def parse(schema: type[Schema], request: Request) -> Schema:
    """The body as ``schema``, or a 4xx naming every problem (never echoing the input)."""
    body = request.json(max_bytes=MAX_BODY_BYTES)
    try:
        return schema.model_validate(body)
    except ValidationError as e:
        problems = [{"field": ".".join(str(p) for p in err["loc"]) or "(body)",
                     "problem": err["msg"].removeprefix("Value error, ")} for err in e.errors(include_url=False)[:20]]
        summary = "; ".join(f"{p['field']}: {p['problem']}" for p in problems[:5])
        raise HttpError(422, f"invalid {schema.__name__}: {summary}", problems=problems) from None


class Service:
    """The handlers and what they share: the live models, the feedback log, the settings."""

    def __init__(self, settings: Settings | None = None, *, store: Store | None = None,
                 rng: random.Random | None = None,
                 clock: Callable[[], float] = time.monotonic):
        self.settings = settings or get_settings()
        self._store = store
        self._store_lock = threading.Lock()
        self.rng = rng or random.Random()
        self._served: ServedLog | None = None
        self._served_lock = threading.Lock()
        self.clock = clock
        self.started = clock()
        s = self.settings
        if s.bundle is not None:
            self.production = LiveModel(folder=s.bundle, threads=s.ort_threads)
            self.canary = None
        else:
            common = dict(cache_dir=s.bundle_cache, reload_seconds=s.reload_seconds,
                          threads=s.ort_threads)
            self.production = LiveModel(store=self.store, alias=s.model_alias,
                                        fall_back_to_newest=True, **common)
            self.canary = (LiveModel(store=self.store, alias="canary", **common)
                           if s.canary_percent > 0 else None)
        self.router = Router()
        self.router.route("POST", "/predict")(self.predict)
        self.router.route("POST", "/feedback")(self.feedback)
        self.router.route("GET", "/health")(self.health)
        configure_logging(s.log_level)

    @property
    def store(self) -> Store:
        if self._store is None:
            with self._store_lock:
                if self._store is None:
                    self._store = open_store(self.settings.store_url)
        return self._store

    @property
    def served(self) -> ServedLog:
        """Where /predict records what it served (joined with feedback for training)."""
        if self._served is None:
            store = self.store  # outside the lock: opening the store takes its own
            with self._served_lock:
                if self._served is None:
                    self._served = ServedLog(
                        store, max_records=self.settings.served_batch_records,
                        max_seconds=self.settings.served_flush_seconds)
        return self._served

    def close(self) -> None:
        """Write what is still buffered (a clean shutdown loses no served record)."""
        if self._served is not None:
            self._served.close()

    # ------------------------------------------------------------ the entry point
    def handle(self, request: Request) -> Response:
        started = time.perf_counter()
        response = self.router.dispatch(request)
        record: dict[str, Any] = {
            "event": "request", "method": request.method, "path": request.path,
            "status": response.status,
            "latency_ms": round((time.perf_counter() - started) * 1000, 2),
            **request.context}
        if response.status >= 400 and isinstance(response.body, dict):
            record["error"] = str(response.body.get("error", ""))[:300]
        request_log.info(orjson.dumps(record).decode())
        return response

    # ------------------------------------------------------------ handlers
    def _authorize(self, request: Request) -> None:
        expected = self.settings.api_key
        if expected is None:
            return
        given = request.headers.get("x-api-key", "")
        if not hmac.compare_digest(given.encode(), expected.encode()):
            raise HttpError(403, "missing or wrong x-api-key header")

    def _choose_model(self) -> Recommender:
        if self.canary is not None and self.rng.random() * 100 < self.settings.canary_percent:
            model = self.canary.get()
            if model is not None:
                return model
        model = self.production.get()
        if model is None:
            raise HttpError(503, "no model bundle is published yet; run `llara publish`",
                            detail=self.production.last_error)
        return model

    def predict(self, request: Request) -> Response:
        self._authorize(request)
        body = parse(PredictRequest, request)
        model = self._choose_model()
        request_id = uuid.uuid4().hex
        request.context.update(request_id=request_id, model_version=model.version, k=body.k)
        try:
            result = model.recommend(body.playlist_name, body.tracks, body.k)
        except NothingToRecommendFrom as e:
            raise HttpError(422, str(e)) from None
        request.context.update(result.counts())
        seeds = [SeedMatch(match=r.how,
                           track_uri=model.track_uris[r.index] if r.index >= 0 else None,
                           similarity=r.score) for r in result.seeds]
        self.served.record(
            request_id=request_id, model_version=model.version, title=body.playlist_name,
            seed_uris=[s.track_uri for s in seeds if s.track_uri],
            unknown_seeds=[t.model_dump(exclude_none=True)
                           for t, s in zip(body.tracks, seeds) if s.track_uri is None],
            recommended=[t["track_uri"] for t in result.tracks])
        # The body is PredictResponse; built as plain data because validating 500 tracks per
        # request costs more than the model does (tests check it against the schema).
        return Response(200, {"recommended_tracks": result.tracks,
                              "model_version": model.version, "request_id": request_id,
                              "seeds": [s.model_dump() for s in seeds]})

    def feedback(self, request: Request) -> Response:
        self._authorize(request)
        event = parse(FeedbackEvent, request)
        key = FeedbackLog(self.store).append([event])
        request.context.update(request_id=event.request_id, feedback=event.event)
        return Response(202, {"status": "accepted", "key": key})

    def health(self, request: Request) -> Response:
        model = self.production.get()
        if model is None:
            raise HttpError(503, "no model bundle loaded", detail=self.production.last_error)
        canary = self.canary.get() if self.canary is not None else None
        request.context.update(model_version=model.version)
        return Response(200, HealthResponse(
            status="ok", model_version=model.version, catalog_size=model.catalog_size,
            uptime_s=round(self.clock() - self.started, 3),
            canary_version=canary.version if canary else None).model_dump(mode="json"))


_service: Service | None = None
_service_lock = threading.Lock()


def service() -> Service:
    """The process-wide Service, created on first use and reused on warm starts."""
    global _service
    if _service is None:
        with _service_lock:
            if _service is None:
                _service = Service()
    return _service


def handle_openwhisk(args: dict, path: str) -> dict:
    """An OpenWhisk web action's call, answered by ``path`` of the process-wide Service.

    The action is the route: OpenWhisk's ``__ow_path`` suffix is ignored."""
    from llara.web import request_from_openwhisk, response_to_openwhisk

    request = request_from_openwhisk(args)
    request.path = path
    return response_to_openwhisk(service().handle(request))

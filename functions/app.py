"""LLaRA++ functions on Chalice (AWS Lambda). Decorators only: every handler lives in the
``llara`` layer and is reached through ``llara.web`` (HTTP) or ``llara.etl`` (bucket events).
Clients and stores are created lazily by those modules and reused on warm starts.

The raw bucket comes from ``LLARA_STORE`` (``s3://bucket[/prefix]``) at deploy time; the
notification filter is ``<prefix>/raw/``.
"""
from __future__ import annotations

import logging
import os
from urllib.parse import urlparse

from chalice import Chalice, Response

app = Chalice(app_name="llara")
# The llara modules log one JSON line per unit of work; Lambda ships them to CloudWatch.
logging.getLogger("llara").setLevel(os.environ.get("LLARA_LOG_LEVEL", "INFO").upper())

_STORE = urlparse(os.environ.get("LLARA_STORE", "s3://llara-data"))
RAW_BUCKET = _STORE.netloc if _STORE.scheme == "s3" else "llara-data"
RAW_PREFIX = (_STORE.path.strip("/") + "/" if _STORE.path.strip("/") else "") + \
    os.environ.get("LLARA_RAW_PREFIX", "raw/")
# Content types the HTTP routes accept (MinIO posts application/json).
JSON_TYPES = ["application/json", "text/plain", "application/octet-stream"]
_router = None


def _routes():
    """The llara.web router of every HTTP route, built on the first request."""
    global _router
    if _router is None:
        from llara import etl
        from llara.web import Router

        router = Router()
        router.route("POST", "/webhook/minio")(etl.webhook)
        _router = router
    return _router


def _to_chalice(response) -> Response:
    """A llara.web Response as Chalice's."""
    return Response(body=response.body_bytes().decode(), status_code=response.status,
                    headers={"Content-Type": "application/json", **response.headers})


def _dispatch() -> Response:
    """The current request through the llara.web router of this app's routes."""
    from llara.web import request_from_chalice

    return _to_chalice(_routes().dispatch(request_from_chalice(app.current_request)))


@app.on_s3_event(bucket=RAW_BUCKET, events=["s3:ObjectCreated:*"], prefix=RAW_PREFIX)
def on_raw_object(event):
    from llara.etl import handle_event

    handle_event(event)


@app.route("/webhook/minio", methods=["POST"], content_types=JSON_TYPES)
def minio_webhook():
    return _dispatch()


def _serve() -> Response:
    """/predict, /feedback, /health: the llara.api Service (auth, canary, hot reload, request
    log), the same handlers the OpenWhisk actions and ``llara serve`` call."""
    from llara.api import service
    from llara.web import request_from_chalice

    return _to_chalice(service().handle(request_from_chalice(app.current_request)))


@app.route("/predict", methods=["POST"], content_types=JSON_TYPES)
def predict():
    return _serve()


@app.route("/feedback", methods=["POST"], content_types=JSON_TYPES)
def feedback():
    return _serve()


@app.route("/health", methods=["GET"])
def health():
    return _serve()


@app.schedule("rate(1 hour)")
def scheduled_training(event):
    """Decide whether enough new data or feedback arrived to train, launch the job if so, and
    record why (``llara.schedule``); thresholds LLARA_TRAIN_MIN_NEW_SLICES/_FEEDBACK. The
    promotion gates run in ``llara loop`` (the training job's side, where MLflow is)."""
    from dataclasses import asdict

    from llara.schedule import decide_and_launch
    from llara.store import open_store

    return asdict(decide_and_launch(open_store()))

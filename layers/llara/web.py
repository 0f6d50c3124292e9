"""Framework-neutral HTTP plumbing shared by every function adapter.

Handlers take a :class:`Request` and return a :class:`Response`. Chalice (``functions/app.py``),
OpenWhisk web actions (``openwhisk/``) and the local ``llara serve`` server only translate their
own request shape to and from these, so every deployment runs the same code path.
A handler signals a client error by raising :class:`HttpError`; :meth:`Router.dispatch` turns it
(and anything unexpected) into a JSON response, never a traceback.
"""
from __future__ import annotations

import base64
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

log = logging.getLogger("llara.web")


class HttpError(Exception):
    def __init__(self, status: int, message: str, **details: Any):
        super().__init__(message)
        self.status = status
        self.message = message
        self.details = details


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)  # keys lower-cased
    body: bytes = b""
    query: dict[str, str] = field(default_factory=dict)
    # What the handler learned (model version, seed counts ...) for the request's log line.
    context: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.method = self.method.upper()
        self.headers = {k.lower(): v for k, v in (self.headers or {}).items()}

    def json(self, max_bytes: int = 256 * 1024) -> Any:
        """The body parsed as JSON, or an HttpError (413 too large, 400 not JSON / not UTF-8)."""
        if len(self.body) > max_bytes:
            raise HttpError(413, f"request body is {len(self.body)} bytes; the limit is {max_bytes}")
        if not self.body:
            raise HttpError(400, "request body is empty; expected a JSON object")
        try:
            return orjson.loads(self.body)
        except orjson.JSONDecodeError as e:
            raise HttpError(400, f"request body is not valid UTF-8 JSON: {e}") from None


@dataclass
class Response:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)

    def body_bytes(self) -> bytes:
        return b"" if self.body is None else orjson.dumps(self.body)


Handler = Callable[[Request], Response]


class Router:
    """Maps (method, path) to handlers; every outcome is a JSON response."""

    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], Handler] = {}

    def route(self, method: str, path: str) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self.routes[(method.upper(), path)] = handler
            return handler

        return register

    def dispatch(self, request: Request) -> Response:
        path = "/" + request.path.strip("/")
        handler = self.routes.get((request.method, path))
        if handler is None:
            allowed = sorted(m for (m, p) in self.routes if p == path)
            if allowed:
                return error_response(405, f"method {request.method} not allowed on {path}",
                                      allowed=allowed)
            return error_response(404, f"no route {path}")
        try:
            return handler(request)
        except HttpError as e:
            return error_response(e.status, e.message, **e.details)
        except Exception:  # noqa: BLE001 - a client must never see a traceback
            log.exception("unhandled error on %s %s", request.method, path)
            return error_response(500, "internal error")


def error_response(status: int, message: str, **details: Any) -> Response:
    return Response(status, {"error": message, **details})


def request_from_openwhisk(args: dict[str, Any]) -> Request:
    """An OpenWhisk web action's ``args`` (``__ow_method``, ``__ow_body``...) as a Request."""
    body = args.get("__ow_body") or ""
    headers = args.get("__ow_headers") or {}
    if isinstance(body, str):
        content_type = str(headers.get("content-type", ""))
        # OpenWhisk base64-encodes bodies it does not consider text (raw HTTP mode).
        if content_type and not content_type.startswith(("application/json", "text/")):
            try:
                body = base64.b64decode(body, validate=True)
            except ValueError:
                body = body.encode("utf-8", "surrogatepass")
        else:
            body = body.encode("utf-8", "surrogatepass")
    return Request(
        method=args.get("__ow_method", "get"),
        path=args.get("__ow_path", "/") or "/",
        headers=headers,
        body=body,
        query={k: v for k, v in args.items() if not k.startswith("__ow_")},
    )


def request_from_chalice(current_request: Any) -> Request:
    """Chalice's ``app.current_request`` as a Request (duck-typed: the layer needs no chalice)."""
    return Request(
        method=current_request.method,
        path=current_request.path,
        headers=dict(current_request.headers or {}),
        body=current_request.raw_body or b"",
        query=dict(current_request.query_params or {}),
    )


def response_to_openwhisk(response: Response) -> dict[str, Any]:
    return {
        "statusCode": response.status,
        "headers": {"Content-Type": "application/json", **response.headers},
        "body": response.body_bytes().decode(),
    }

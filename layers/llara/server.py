"""``llara serve``: the function handlers over real HTTP (stdlib, one thread per connection).

This is the local stand-in for a function URL; it only translates HTTP to
:class:`llara.web.Request` and back, like the Chalice and OpenWhisk adapters.
"""
from __future__ import annotations

import logging
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

from llara.api import Service
from llara.schemas import MAX_BODY_BYTES
from llara.web import Request, Response, error_response

log = logging.getLogger("llara.server")
DRAIN_LIMIT = 16 * 1024 * 1024


def make_handler(service: Service) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive: a load generator reuses connections
        server_version = "llara"
        sys_version = ""

        def _reply(self, response: Response, *, close: bool = False) -> None:
            body = response.body_bytes()
            self.send_response(response.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            for name, value in response.headers.items():
                self.send_header(name, value)
            if close:
                self.send_header("Connection", "close")
                self.close_connection = True
            self.end_headers()
            self.wfile.write(body)

        def _read_body(self) -> bytes | None:
            """The body, or None after replying with the error (unreadable or too large)."""
            if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
                self._reply(error_response(411, "send a Content-Length; chunked bodies are not "
                                           "accepted"), close=True)
                return None
            try:
                length = int(self.headers.get("Content-Length") or 0)
            except ValueError:
                length = -1
            if length < 0:
                self._reply(error_response(400, "invalid Content-Length"), close=True)
                return None
            if length > MAX_BODY_BYTES:
                # Drain a moderately large body so the client reads the 413 instead of a reset
                # connection; a huge one is not read at all (the connection is closed).
                if length <= DRAIN_LIMIT:
                    for _ in range(0, length, 1 << 16):
                        self.rfile.read(min(1 << 16, length))
                        length -= 1 << 16
                self._reply(error_response(413, f"request body is {self.headers['Content-Length']}"
                                           f" bytes; the limit is {MAX_BODY_BYTES}"), close=True)
                return None
            return self.rfile.read(length) if length else b""

        def _serve(self) -> None:
            body = self._read_body()
            if body is None:
                return
            url = urlsplit(self.path)
            request = Request(method=self.command, path=url.path,
                              headers={k: v for k, v in self.headers.items()}, body=body,
                              query=dict(parse_qsl(url.query)))
            self._reply(service.handle(request))

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _serve

        def log_message(self, format: str, *args) -> None:  # noqa: A002
            pass  # Service.handle writes the one structured line per request

    return Handler


def make_server(service: Service, host: str = "127.0.0.1", port: int = 8000
                ) -> ThreadingHTTPServer:
    server = ThreadingHTTPServer((host, port), make_handler(service))
    server.daemon_threads = True
    return server

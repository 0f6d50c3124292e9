"""The scheduled-training endpoint for Knative: the PingSource posts a CloudEvent here and the
shared decision (llara.schedule.decide_and_launch) runs, exactly as the OpenWhisk alarm's
train-trigger action does. A plain HTTP adapter over llara.web; the event's content is not
needed (the decision reads the store).

    python trigger.py            # listens on $PORT (8080)
"""
from __future__ import annotations

import logging
import os
from dataclasses import asdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from llara.web import Request, Response, Router

router = Router()


@router.route("POST", "/")
def schedule(request: Request) -> Response:
    from llara.schedule import decide_and_launch
    from llara.store import open_store

    return Response(200, asdict(decide_and_launch(open_store())))


@router.route("GET", "/health")
def health(request: Request) -> Response:
    return Response(200, {"status": "ok"})


class Handler(BaseHTTPRequestHandler):
    def _handle(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        response = router.dispatch(Request(
            method=self.command, path=self.path.split("?", 1)[0],
            headers=dict(self.headers.items()), body=self.rfile.read(length)))
        body = response.body_bytes()
        self.send_response(response.status)
        for name, value in {"Content-Type": "application/json", **response.headers}.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _handle

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - the stdlib's signature
        logging.getLogger("llara.trigger").info(format, *args)


def serve(host: str = "0.0.0.0", port: int | None = None) -> None:  # noqa: S104 - in a pod
    logging.basicConfig(level=os.environ.get("LLARA_LOG_LEVEL", "INFO"))
    ThreadingHTTPServer((host, port or int(os.environ.get("PORT", "8080"))), Handler).serve_forever()


if __name__ == "__main__":
    serve()
